/** The cluster config as stored in the datastore: versioned JSON, validated again when read. */
import { errorText } from "../base/error-text.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { buildClusterConfig, type ClusterConfig, clusterFamilies } from "./cluster-config.ts";
import { ClusterConfigError } from "./cluster-errors.ts";
import { familyKey } from "./node-block-length.ts";

export interface ClusterConfigJSON {
  version: 1;
  clusterCidrs: string[];
  nodeBlockLength: { ipv4?: number; ipv6?: number };
  serviceCidrs: string[];
}

export function clusterConfigToJSON(config: ClusterConfig): ClusterConfigJSON {
  const nodeBlockLength: { ipv4?: number; ipv6?: number } = {};
  for (const family of clusterFamilies(config)) {
    const key = familyKey(family);
    nodeBlockLength[key] = config.nodeBlockLength[key];
  }
  return {
    version: 1,
    clusterCidrs: config.clusterCidrs.map(formatPrefix),
    nodeBlockLength,
    serviceCidrs: config.serviceCidrs.map(formatPrefix),
  };
}

function bad(field: string, reason: string): ClusterConfigError {
  return new ClusterConfigError("stored cluster config field", field, reason);
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw bad(field, "must be an array of strings");
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates a parsed JSON value exactly as `buildClusterConfig` validates fresh input. */
export function clusterConfigFromJSON(value: unknown): ClusterConfig {
  if (!isRecord(value)) throw bad("(root)", "must be an object");
  if (value.version !== 1)
    throw bad("version", `is ${JSON.stringify(value.version)}; only version 1 is known`);
  const clusterCidrs = stringArray(value.clusterCidrs, "clusterCidrs");
  const serviceCidrs = stringArray(value.serviceCidrs, "serviceCidrs");
  const lengths = value.nodeBlockLength;
  if (!isRecord(lengths)) throw bad("nodeBlockLength", "must be an object");
  const nodeBlockLength: { ipv4?: number; ipv6?: number } = {};
  for (const [key, length] of Object.entries(lengths)) {
    if (key !== "ipv4" && key !== "ipv6") throw bad(`nodeBlockLength.${key}`, "is not ipv4 or ipv6");
    if (typeof length !== "number") throw bad(`nodeBlockLength.${key}`, "must be a number");
    nodeBlockLength[key] = length;
  }
  const config = buildClusterConfig({ clusterCidrs, serviceCidrs, nodeBlockLength });
  // A missing length would silently become the default and move every block of that family.
  for (const family of clusterFamilies(config)) {
    if (nodeBlockLength[familyKey(family)] === undefined) {
      throw bad(`nodeBlockLength.${familyKey(family)}`, `is missing for the IPv${family} cluster CIDRs`);
    }
  }
  return config;
}

export function encodeClusterConfig(config: ClusterConfig): string {
  return JSON.stringify(clusterConfigToJSON(config));
}

export function decodeClusterConfig(text: string): ClusterConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad("(root)", `is not JSON: ${errorText(error)}`);
  }
  return clusterConfigFromJSON(value);
}

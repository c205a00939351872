import { errorText } from "../base/error-text.ts";
import type { AttachmentKey } from "./attachment-key.ts";
import { containerIdProblem, ifnameProblem } from "./env.ts";
import { CniError, ErrorCode } from "./errors.ts";
import { type DNS, parseDNS } from "./result.ts";
import {
  describeValue,
  isRecord,
  readOptRecord,
  readString,
  requireArray,
  requireRecord,
  type ShapeContext,
} from "./shape.ts";
import { assertSupportedVersion, type CniVersion } from "./version.ts";

/** The plugin configuration object a runtime writes on stdin (CNI 1.1 section 3). */
export interface NetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  ipam?: Record<string, unknown> & { type: string };
  dns?: DNS;
  prevResult?: unknown;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  /** The whole decoded object, for plugin-specific fields. */
  raw: Record<string, unknown>;
}

const CONFIG: ShapeContext = { where: "network configuration", code: ErrorCode.InvalidNetworkConfig };

/** CNI 1.1 section 1: network names must match this. */
export const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function networkNameProblem(name: string): string | undefined {
  if (NETWORK_NAME.test(name)) return undefined;
  return `network name ${JSON.stringify(name)} must start with a letter or digit and contain only letters, digits, "_", "." and "-"`;
}

/**
 * `type` names an executable the runtime (or a delegating plugin, for `ipam.type`) looks up in
 * CNI_PATH, so anything that could escape that directory is refused.
 */
export function pluginTypeProblem(type: string): string | undefined {
  if (type === "") return "must not be empty";
  if (type === "." || type === ".." || type.includes("/") || type.includes("\0")) {
    return `${JSON.stringify(type)} is not a plain executable name`;
  }
  return undefined;
}

export function decodeJSON(text: string, where: string): unknown {
  if (text.trim() === "")
    throw new CniError(ErrorCode.DecodingFailure, `Cannot decode ${where}: input is empty`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = errorText(error);
    throw new CniError(ErrorCode.DecodingFailure, `Cannot decode ${where}: ${reason}`);
  }
}

export function parseNetConf(stdin: string): NetConf {
  const decoded = decodeJSON(stdin, "network configuration");
  if (!isRecord(decoded)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "Invalid network configuration: expected a JSON object on stdin",
    );
  }
  const cniVersion = assertSupportedVersion(decoded.cniVersion);
  const name = readString(CONFIG, decoded, "name");
  const nameProblem = networkNameProblem(name);
  if (nameProblem !== undefined)
    throw new CniError(CONFIG.code, `Invalid network configuration: ${nameProblem}`);
  const type = readString(CONFIG, decoded, "type");
  const typeProblem = pluginTypeProblem(type);
  if (typeProblem !== undefined) {
    throw new CniError(CONFIG.code, `Invalid network configuration: "type" ${typeProblem}`);
  }

  const conf: NetConf = { cniVersion, name, type, raw: decoded };
  const ipam = readOptRecord(CONFIG, decoded, "ipam");
  if (ipam !== undefined) {
    const ipamType = readString(CONFIG, ipam, "type", "ipam.");
    const ipamProblem = pluginTypeProblem(ipamType);
    if (ipamProblem !== undefined) {
      throw new CniError(CONFIG.code, `Invalid network configuration: "ipam.type" ${ipamProblem}`);
    }
    conf.ipam = { ...ipam, type: ipamType };
  }
  const dns = readOptRecord(CONFIG, decoded, "dns");
  if (dns !== undefined) conf.dns = parseDNS(CONFIG, dns);
  if (decoded.prevResult !== undefined && decoded.prevResult !== null) conf.prevResult = decoded.prevResult;
  const runtimeConfig = readOptRecord(CONFIG, decoded, "runtimeConfig");
  if (runtimeConfig !== undefined) conf.runtimeConfig = runtimeConfig;
  const args = readOptRecord(CONFIG, decoded, "args");
  if (args !== undefined) conf.args = args;
  return conf;
}

const VALID_ATTACHMENTS = "cni.dev/valid-attachments";
/** The key's name in the first 1.1 drafts; libcni still sends both (containernetworking/cni#1101). */
const LEGACY_ATTACHMENTS = "cni.dev/attachments";

/**
 * The attachments of this network a GC must keep. A missing list is an error rather than "keep
 * nothing": reading it as empty would release every address on the node.
 */
export function parseValidAttachments(conf: NetConf): AttachmentKey[] {
  const key = conf.raw[VALID_ATTACHMENTS] !== undefined ? VALID_ATTACHMENTS : LEGACY_ATTACHMENTS;
  const value = conf.raw[key];
  if (value === undefined || value === null) {
    throw new CniError(
      CONFIG.code,
      `Invalid network configuration: "${VALID_ATTACHMENTS}" is missing; GC needs the list of attachments to keep`,
    );
  }
  const items = requireArray(CONFIG, value, key);
  const seen = new Set<string>();
  const attachments: AttachmentKey[] = [];
  items.forEach((item, i) => {
    const field = `${key}[${i}]`;
    const entry = requireRecord(CONFIG, item, field);
    const containerId = readString(CONFIG, entry, "containerID", `${field}.`);
    const ifname = readString(CONFIG, entry, "ifname", `${field}.`);
    const problem = containerIdProblem(containerId) ?? ifnameProblem(ifname);
    if (problem !== undefined)
      throw new CniError(CONFIG.code, `Invalid network configuration: "${field}" ${problem}`);
    const id = `${containerId}\n${ifname}`;
    if (seen.has(id)) return;
    seen.add(id);
    attachments.push({ network: conf.name, containerId, ifname });
  });
  return attachments;
}

function stringList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  const items = requireArray(CONFIG, v, field);
  return items.map((item, i) => {
    if (typeof item !== "string") {
      throw new CniError(
        CONFIG.code,
        `Invalid network configuration: "${field}[${i}]" must be a string, got ${describeValue(item)}`,
      );
    }
    return item;
  });
}

/**
 * Addresses the runtime asked for, from the three places CONVENTIONS.md defines, in that
 * order and without duplicates: CNI_ARGS `IP=a,b`, `args.cni.ips` and `runtimeConfig.ips`
 * (the "ips" capability). The strings are returned unparsed; the caller knows the families.
 */
export function requestedIPs(conf: NetConf, invocationArgs: Record<string, string>): string[] {
  const all: string[] = [];
  const fromEnv = invocationArgs.IP;
  if (fromEnv !== undefined) {
    for (const ip of fromEnv.split(",")) if (ip.trim() !== "") all.push(ip.trim());
  }
  const cniArgs = conf.args?.cni;
  if (cniArgs !== undefined && cniArgs !== null) {
    all.push(...stringList(requireRecord(CONFIG, cniArgs, "args.cni").ips, "args.cni.ips"));
  }
  all.push(...stringList(conf.runtimeConfig?.ips, "runtimeConfig.ips"));
  return [...new Set(all)];
}

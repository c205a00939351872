/**
 * The cluster-wide address plan every agent shares: the pod ranges (cluster CIDRs) nodes take
 * their blocks from, how long a node block is per family, and the Service ClusterIP ranges.
 */
import type { Family } from "../ipnet/address.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import { formatPrefix, type IPPrefix, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";
import { ClusterConfigError } from "./cluster-errors.ts";
import {
  type BlockLengthOptions,
  DEFAULT_NODE_BLOCK_LENGTH,
  familyKey,
  type PerFamily,
  resolveNodeBlockLengths,
} from "./node-block-length.ts";

export interface ClusterConfig {
  /** Pod ranges in allocation order; blocks are taken from earlier CIDRs first. */
  readonly clusterCidrs: readonly IPPrefix[];
  /** Node block prefix length, for exactly the families that have a cluster CIDR. */
  readonly nodeBlockLength: PerFamily<number>;
  /** At most one per family. */
  readonly serviceCidrs: readonly IPPrefix[];
}

export interface ClusterConfigInput extends BlockLengthOptions {
  clusterCidrs: readonly string[];
  /** Defaults to Kubernetes' 10.96.0.0/12. */
  serviceCidrs?: readonly string[];
}

export const DEFAULT_SERVICE_CIDR = "10.96.0.0/12";

/** Ranges whose addresses the kernel treats specially, so pods and Services cannot use them. */
const SPECIAL_RANGES: readonly { cidr: IPPrefix; name: string }[] = [
  ["0.0.0.0/8", "'this network'"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved (class E and broadcast)"],
  ["::/128", "unspecified address"],
  ["::1/128", "loopback"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
].map(([cidr, name]) => ({ cidr: parsePrefix(cidr as string), name: name as string }));

/** Parses a CIDR (host bits must be clear) and re-raises parse errors naming the setting. */
export function parseCidrSetting(text: string, what: string): IPPrefix {
  try {
    return parsePrefix(text);
  } catch (error) {
    if (error instanceof AddressParseError) throw new ClusterConfigError(what, text, error.reason);
    throw error;
  }
}

/** A pod or service range: parsed, and kept clear of loopback, link-local and multicast space. */
export function parseAddressRange(text: string, what: string): IPPrefix {
  const cidr = parseCidrSetting(text, what);
  for (const special of SPECIAL_RANGES) {
    if (prefixesOverlap(cidr, special.cidr)) {
      throw new ClusterConfigError(
        what,
        text,
        `overlaps the ${special.name} range "${formatPrefix(special.cidr)}", which pods and Services cannot use`,
      );
    }
  }
  return cidr;
}

/** Service CIDRs: at most one per family, each with room for at least two ClusterIPs. */
export function parseServiceCidrs(texts: readonly string[]): IPPrefix[] {
  const cidrs: IPPrefix[] = [];
  for (const text of texts) {
    const cidr = parseAddressRange(text, "service CIDR");
    const maxLength = cidr.family === 4 ? 30 : 126;
    if (cidr.length > maxLength) {
      throw new ClusterConfigError("service CIDR", text, `is too small: use /${maxLength} or shorter`);
    }
    const same = cidrs.find((c) => c.family === cidr.family);
    if (same !== undefined) {
      throw new ClusterConfigError(
        "service CIDR",
        text,
        `is a second IPv${cidr.family} service CIDR besides "${formatPrefix(same)}"; give at most one per family`,
      );
    }
    cidrs.push(cidr);
  }
  return cidrs;
}

function checkNoOverlap(cidr: IPPrefix, what: string, clusterCidrs: readonly IPPrefix[]): void {
  const other = clusterCidrs.find((c) => prefixesOverlap(c, cidr));
  if (other !== undefined) {
    throw new ClusterConfigError(what, formatPrefix(cidr), `overlaps cluster CIDR "${formatPrefix(other)}"`);
  }
}

function checkServicesClear(serviceCidrs: readonly IPPrefix[], cidr: IPPrefix, what: string): void {
  const service = serviceCidrs.find((s) => prefixesOverlap(s, cidr));
  if (service !== undefined) {
    throw new ClusterConfigError(
      what,
      formatPrefix(cidr),
      `overlaps service CIDR "${formatPrefix(service)}"`,
    );
  }
}

export function buildClusterConfig(input: ClusterConfigInput): ClusterConfig {
  if (input.clusterCidrs.length === 0) {
    throw new ClusterConfigError("cluster CIDRs", "", "give at least one cluster CIDR");
  }
  const clusterCidrs: IPPrefix[] = [];
  for (const text of input.clusterCidrs) {
    const cidr = parseAddressRange(text, "cluster CIDR");
    checkNoOverlap(cidr, "cluster CIDR", clusterCidrs);
    clusterCidrs.push(cidr);
  }
  const serviceCidrs = parseServiceCidrs(input.serviceCidrs ?? [DEFAULT_SERVICE_CIDR]);
  for (const cidr of clusterCidrs) checkServicesClear(serviceCidrs, cidr, "cluster CIDR");
  const options: BlockLengthOptions = {};
  if (input.nodeBlockLength !== undefined) options.nodeBlockLength = input.nodeBlockLength;
  if (input.maxPodsPerNode !== undefined) options.maxPodsPerNode = input.maxPodsPerNode;
  const nodeBlockLength = resolveNodeBlockLengths(clusterCidrs, options);
  return { clusterCidrs, nodeBlockLength, serviceCidrs };
}

/** The address families the cluster gives pods, in the order their first cluster CIDR appears. */
export function clusterFamilies(config: ClusterConfig): Family[] {
  const families: Family[] = [];
  for (const cidr of config.clusterCidrs) if (!families.includes(cidr.family)) families.push(cidr.family);
  return families;
}

export function clusterCidrsOf(config: ClusterConfig, family: Family): IPPrefix[] {
  return config.clusterCidrs.filter((c) => c.family === family);
}

export function nodeBlockLengthOf(config: ClusterConfig, family: Family): number {
  const length = config.nodeBlockLength[familyKey(family)];
  if (length === undefined) {
    throw new ClusterConfigError("address family", `IPv${family}`, "the cluster has no cluster CIDR of it");
  }
  return length;
}

export function serviceCidrOf(config: ClusterConfig, family: Family): IPPrefix | undefined {
  return config.serviceCidrs.find((c) => c.family === family);
}

/**
 * Adds a pod range to a running cluster. Existing CIDRs, their order and the block lengths
 * stay as they are, so every block already leased keeps its meaning; the new CIDR is used
 * once the earlier ones are full. A new family takes `nodeBlockLength` (default /24 or /64).
 */
export function addClusterCidr(
  config: ClusterConfig,
  text: string,
  options: { nodeBlockLength?: number } = {},
): ClusterConfig {
  const cidr = parseAddressRange(text, "cluster CIDR");
  checkNoOverlap(cidr, "cluster CIDR", config.clusterCidrs);
  checkServicesClear(config.serviceCidrs, cidr, "cluster CIDR");
  const key = familyKey(cidr.family);
  const current = config.nodeBlockLength[key];
  if (current !== undefined && options.nodeBlockLength !== undefined && options.nodeBlockLength !== current) {
    throw new ClusterConfigError(
      `IPv${cidr.family} node block length`,
      `/${options.nodeBlockLength}`,
      `the cluster already uses /${current} blocks; changing it would move every leased block`,
    );
  }
  const length = current ?? options.nodeBlockLength ?? DEFAULT_NODE_BLOCK_LENGTH[key];
  const clusterCidrs = [...config.clusterCidrs, cidr];
  // Re-validate against the new CIDR only: it must hold at least one block of the family's length.
  resolveNodeBlockLengths(
    clusterCidrs.filter((c) => c.family === cidr.family),
    { nodeBlockLength: { [key]: length } },
  );
  return {
    clusterCidrs,
    nodeBlockLength: { ...config.nodeBlockLength, [key]: length },
    serviceCidrs: config.serviceCidrs,
  };
}

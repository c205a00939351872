/**
 * Node block sizing: how long a node's pod block prefix is, per address family, and how many
 * pods it holds. A node's block is carved into addresses by the node allocator, which never
 * hands out the network address, the gateway (the bridge's address) or the IPv4 broadcast.
 */
import { bitLength, type Family } from "../ipnet/address.ts";
import { formatPrefix, type IPPrefix } from "../ipnet/prefix.ts";
import { ClusterConfigError } from "./cluster-errors.ts";

export type FamilyKey = "ipv4" | "ipv6";

/** One value per address family; a family the cluster does not use is absent. */
export type PerFamily<T> = { readonly ipv4?: T; readonly ipv6?: T };

export function familyKey(family: Family): FamilyKey {
  return family === 4 ? "ipv4" : "ipv6";
}

/** As Kubernetes' node IPAM defaults: a /24 per node for IPv4, a /64 for IPv6. */
export const DEFAULT_NODE_BLOCK_LENGTH = { ipv4: 24, ipv6: 64 } as const;

/** Addresses of a block no pod can have: network and gateway, and the broadcast for IPv4. */
export function reservedPerBlock(family: Family): bigint {
  return family === 4 ? 3n : 2n;
}

/** The longest block prefix that still leaves at least one pod address. */
export function maxNodeBlockLength(family: Family): number {
  return family === 4 ? 30 : 126;
}

export function podsPerBlock(family: Family, length: number): bigint {
  return (1n << BigInt(bitLength(family) - length)) - reservedPerBlock(family);
}

/** The longest (smallest) block that holds `maxPods` pods besides the reserved addresses. */
export function blockLengthForPods(family: Family, maxPods: number): number {
  const need = BigInt(maxPods) + reservedPerBlock(family);
  let hostBits = 0;
  while (1n << BigInt(hostBits) < need) hostBits++;
  return bitLength(family) - hostBits;
}

/** Parses "/24" or "24" as a prefix length. */
export function parseBlockLength(text: string, what = "node block length"): number {
  const match = /^\/?(0|[1-9][0-9]{0,2})$/.exec(text);
  if (match === null) throw new ClusterConfigError(what, text, 'expected a prefix length such as "/24"');
  return Number(match[1]);
}

export interface BlockLengthOptions {
  /** Explicit block lengths; only for families that have a cluster CIDR. */
  nodeBlockLength?: PerFamily<number>;
  /** Derive each family's block length from this many pods per node instead. */
  maxPodsPerNode?: number;
}

function familiesOf(cidrs: readonly IPPrefix[]): Family[] {
  const families: Family[] = [];
  for (const cidr of cidrs) if (!families.includes(cidr.family)) families.push(cidr.family);
  return families;
}

function checkLength(family: Family, length: number, cidrs: readonly IPPrefix[], what: string): void {
  const shown = `/${length}`;
  if (!Number.isInteger(length) || length < 0 || length > bitLength(family)) {
    throw new ClusterConfigError(what, shown, `must be 0-${bitLength(family)} for IPv${family}`);
  }
  if (length > maxNodeBlockLength(family)) {
    const reserved = family === 4 ? "network, gateway and broadcast" : "network and gateway";
    throw new ClusterConfigError(
      what,
      shown,
      `leaves no address for a pod (${reserved} are reserved); use /${maxNodeBlockLength(family)} or shorter`,
    );
  }
  for (const cidr of cidrs) {
    if (cidr.family === family && length < cidr.length) {
      throw new ClusterConfigError(
        what,
        shown,
        `is larger than cluster CIDR "${formatPrefix(cidr)}": a node block must fit inside every cluster CIDR`,
      );
    }
  }
}

/** Resolves and validates the block length of every family present in `cidrs`. */
export function resolveNodeBlockLengths(
  cidrs: readonly IPPrefix[],
  options: BlockLengthOptions = {},
): PerFamily<number> {
  const families = familiesOf(cidrs);
  const explicit = options.nodeBlockLength ?? {};
  const { maxPodsPerNode } = options;
  if (maxPodsPerNode !== undefined && (explicit.ipv4 !== undefined || explicit.ipv6 !== undefined)) {
    throw new ClusterConfigError(
      "max pods per node",
      String(maxPodsPerNode),
      "give either node block lengths or a max pods per node figure, not both",
    );
  }
  if (maxPodsPerNode !== undefined && (!Number.isSafeInteger(maxPodsPerNode) || maxPodsPerNode < 1)) {
    throw new ClusterConfigError("max pods per node", String(maxPodsPerNode), "must be a positive integer");
  }
  for (const family of [4, 6] as const) {
    if (explicit[familyKey(family)] !== undefined && !families.includes(family)) {
      throw new ClusterConfigError(
        `IPv${family} node block length`,
        `/${explicit[familyKey(family)]}`,
        `there is no IPv${family} cluster CIDR to carve it from`,
      );
    }
  }
  const result: { ipv4?: number; ipv6?: number } = {};
  for (const family of families) {
    const key = familyKey(family);
    const what = `IPv${family} node block length`;
    if (maxPodsPerNode !== undefined) {
      const length = blockLengthForPods(family, maxPodsPerNode);
      const tooSmall = cidrs.find((c) => c.family === family && length < c.length);
      if (tooSmall !== undefined) {
        throw new ClusterConfigError(
          "max pods per node",
          String(maxPodsPerNode),
          `needs a /${length} IPv${family} block per node, larger than cluster CIDR "${formatPrefix(tooSmall)}"`,
        );
      }
      result[key] = length;
    } else {
      const length = explicit[key] ?? DEFAULT_NODE_BLOCK_LENGTH[key];
      checkLength(family, length, cidrs, what);
      result[key] = length;
    }
  }
  return result;
}

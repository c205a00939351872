/**
 * Address planning before anything exists: how many nodes and pods per node the pod ranges
 * allow, how many ClusterIPs the service ranges hold, and every overlap between pod, service,
 * node and external ranges (VPNs, peered networks). An overlap makes some packets ambiguous —
 * a pod address that is also a node's, or a ClusterIP that is also a VPN peer — so it is
 * reported before the cluster is created rather than debugged after.
 */
import type { Family } from "../ipnet/address.ts";
import {
  containsPrefix,
  formatPrefix,
  type IPPrefix,
  parsePrefix,
  prefixesOverlap,
} from "../ipnet/prefix.ts";
import {
  DEFAULT_SERVICE_CIDR,
  parseAddressRange,
  parseCidrSetting,
  parseServiceCidrs,
} from "./cluster-config.ts";
import { ClusterConfigError } from "./cluster-errors.ts";
import {
  type BlockLengthOptions,
  familyKey,
  type PerFamily,
  podsPerBlock,
  resolveNodeBlockLengths,
} from "./node-block-length.ts";
import { serviceIPCapacity } from "./service-ip-allocator.ts";

export type RangeKind = "pod" | "service" | "node" | "avoid";

export interface PlanRange {
  readonly kind: RangeKind;
  readonly cidr: IPPrefix;
}

export interface Overlap {
  readonly a: PlanRange;
  readonly b: PlanRange;
  /** The shared addresses: two prefixes overlap only by one containing the other. */
  readonly overlap: IPPrefix;
}

export type PlanWarningCode =
  | "few-nodes"
  | "public-range"
  | "service-family-without-pods"
  | "pod-family-without-services";

export interface PlanWarning {
  readonly code: PlanWarningCode;
  readonly message: string;
}

export interface PlanInput extends BlockLengthOptions {
  clusterCidrs: readonly string[];
  /** Defaults to Kubernetes' 10.96.0.0/12. */
  serviceCidrs?: readonly string[];
  /** The networks node addresses come from. */
  nodeNetworks?: readonly string[];
  /** Networks outside the cluster it must stay clear of: VPNs, peered VPCs, on-premises ranges. */
  avoid?: readonly string[];
}

export interface AddressPlan {
  readonly clusterCidrs: readonly IPPrefix[];
  readonly serviceCidrs: readonly IPPrefix[];
  readonly nodeNetworks: readonly IPPrefix[];
  readonly avoid: readonly IPPrefix[];
  readonly nodeBlockLength: PerFamily<number>;
  /** Node limit per family: the number of node blocks in that family's cluster CIDRs. */
  readonly nodes: PerFamily<bigint>;
  /** Usable pod addresses in one node block. */
  readonly podsPerNode: PerFamily<bigint>;
  /** ClusterIPs per family (network and IPv4 broadcast excluded). */
  readonly serviceIPs: PerFamily<bigint>;
  readonly overlaps: readonly Overlap[];
  readonly warnings: readonly PlanWarning[];
}

/** Below this many nodes a cluster cannot grow past a handful of machines. */
const FEW_NODES = 16n;

const PRIVATE_RANGES: readonly IPPrefix[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  // Carrier-grade NAT space (RFC 6598), used by several managed Kubernetes offerings for pods.
  "100.64.0.0/10",
  "fc00::/7",
].map((c) => parsePrefix(c));

/** Every pair of overlapping ranges (same kind included), each pair once, in input order. */
export function findOverlaps(ranges: readonly PlanRange[]): Overlap[] {
  const overlaps: Overlap[] = [];
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      if (!prefixesOverlap(a.cidr, b.cidr)) continue;
      overlaps.push({ a, b, overlap: containsPrefix(a.cidr, b.cidr) ? b.cidr : a.cidr });
    }
  }
  return overlaps;
}

function familyName(family: Family): string {
  return `IPv${family}`;
}

function warnings(
  clusterCidrs: readonly IPPrefix[],
  serviceCidrs: readonly IPPrefix[],
  nodeBlockLength: PerFamily<number>,
  nodes: PerFamily<bigint>,
): PlanWarning[] {
  const result: PlanWarning[] = [];
  const podFamilies = [4, 6].filter((f) => clusterCidrs.some((c) => c.family === f)) as Family[];
  for (const family of podFamilies) {
    const count = nodes[familyKey(family)] ?? 0n;
    if (count < FEW_NODES) {
      const cidrs = clusterCidrs.filter((c) => c.family === family).map((c) => `"${formatPrefix(c)}"`);
      result.push({
        code: "few-nodes",
        message: `only ${count} ${familyName(family)} node${count === 1n ? "" : "s"} fit: /${nodeBlockLength[familyKey(family)]} blocks in ${cidrs.join(", ")}`,
      });
    }
    if (!serviceCidrs.some((s) => s.family === family)) {
      result.push({
        code: "pod-family-without-services",
        message: `pods get ${familyName(family)} addresses but there is no ${familyName(family)} service CIDR: Services will have no ${familyName(family)} ClusterIP`,
      });
    }
  }
  for (const service of serviceCidrs) {
    if (!podFamilies.includes(service.family)) {
      result.push({
        code: "service-family-without-pods",
        message: `service CIDR "${formatPrefix(service)}" is ${familyName(service.family)} but no cluster CIDR is: its Services would have no ${familyName(service.family)} endpoints`,
      });
    }
  }
  const kinds: [string, readonly IPPrefix[]][] = [
    ["cluster CIDR", clusterCidrs],
    ["service CIDR", serviceCidrs],
  ];
  for (const [what, cidrs] of kinds) {
    for (const cidr of cidrs) {
      if (!PRIVATE_RANGES.some((p) => containsPrefix(p, cidr))) {
        result.push({
          code: "public-range",
          message: `${what} "${formatPrefix(cidr)}" is not private address space: the cluster would shadow those addresses on the internet`,
        });
      }
    }
  }
  return result;
}

export function planAddresses(input: PlanInput): AddressPlan {
  const clusterCidrs = input.clusterCidrs.map((c) => parseAddressRange(c, "cluster CIDR"));
  if (clusterCidrs.length === 0) {
    throw new ClusterConfigError("cluster CIDRs", "", "give at least one cluster CIDR");
  }
  const serviceCidrs = parseServiceCidrs(input.serviceCidrs ?? [DEFAULT_SERVICE_CIDR]);
  const nodeNetworks = (input.nodeNetworks ?? []).map((c) => parseCidrSetting(c, "node network"));
  const avoid = (input.avoid ?? []).map((c) => parseCidrSetting(c, "range to avoid"));
  const options: BlockLengthOptions = {};
  if (input.nodeBlockLength !== undefined) options.nodeBlockLength = input.nodeBlockLength;
  if (input.maxPodsPerNode !== undefined) options.maxPodsPerNode = input.maxPodsPerNode;
  const nodeBlockLength = resolveNodeBlockLengths(clusterCidrs, options);

  const nodes: { ipv4?: bigint; ipv6?: bigint } = {};
  const podsPerNode: { ipv4?: bigint; ipv6?: bigint } = {};
  for (const cidr of clusterCidrs) {
    const key = familyKey(cidr.family);
    const length = nodeBlockLength[key]!;
    nodes[key] = (nodes[key] ?? 0n) + (1n << BigInt(length - cidr.length));
    podsPerNode[key] = podsPerBlock(cidr.family, length);
  }
  const serviceIPs: { ipv4?: bigint; ipv6?: bigint } = {};
  for (const cidr of serviceCidrs) serviceIPs[familyKey(cidr.family)] = serviceIPCapacity(cidr);

  const ranges: PlanRange[] = [
    ...clusterCidrs.map((cidr) => ({ kind: "pod" as const, cidr })),
    ...serviceCidrs.map((cidr) => ({ kind: "service" as const, cidr })),
    ...nodeNetworks.map((cidr) => ({ kind: "node" as const, cidr })),
    ...avoid.map((cidr) => ({ kind: "avoid" as const, cidr })),
  ];
  return {
    clusterCidrs,
    serviceCidrs,
    nodeNetworks,
    avoid,
    nodeBlockLength,
    nodes,
    podsPerNode,
    serviceIPs,
    overlaps: findOverlaps(ranges),
    warnings: warnings(clusterCidrs, serviceCidrs, nodeBlockLength, nodes),
  };
}

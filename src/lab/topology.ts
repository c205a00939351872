/**
 * The lab's underlay, as data (pure): L2 segments on documentation ranges, a router joining
 * them, and the nodes on them. By default two of every three nodes share the first segment
 * (so `auto` routes directly between them) and every third sits behind the router on the second
 * (so it is reached through VXLAN). An external host sits on a third segment (203.0.113.0/24).
 * A lab that peers with the router over BGP may add a "VM" (`withVpcHost`): a host in the VPC,
 * outside the cluster, that reaches pods by their own addresses through the router's BGP routes.
 *
 * Every segment has one range per lab family, primary first (IPv4 in dual): 192.0.2.0/24 and
 * 2001:db8:1::/64 for lan1, and so on. A host has the same host number in each: node1 is
 * 192.0.2.11 and 2001:db8:1::11 (the decimal number written as hex digits, so the two read alike).
 */
import type { Family } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { nthIP, parsePrefix, prefixSize } from "../ipnet/prefix.ts";

/**
 * `cidrs`/`gateways`/`addresses` list every family; a single-family layout described elsewhere
 * (the cluster benchmark's, a test harness's) may give only `cidr`/`gateway`/`address`: read them
 * with segmentCidrs, segmentGateways and hostAddresses.
 */
export interface Segment {
  readonly name: string;
  /** The primary range: cidrs[0]. */
  readonly cidr: string;
  /** The router's address in the primary range (every host's default gateway): gateways[0]. */
  readonly gateway: string;
  /** One range per lab family, primary first. */
  readonly cidrs?: readonly string[];
  /** The router's address in each range, in the order of `cidrs`. */
  readonly gateways?: readonly string[];
}

export interface HostSpec {
  readonly name: string;
  readonly segment: string;
  /** The primary address with prefix length, e.g. "192.0.2.11/24": addresses[0]. */
  readonly address: string;
  /** One address with prefix length per lab family, primary first, e.g. ["192.0.2.11/24", "2001:db8:1::11/64"]. */
  readonly addresses?: readonly string[];
}

export function segmentCidrs(seg: Segment): readonly string[] {
  return seg.cidrs ?? [seg.cidr];
}

export function segmentGateways(seg: Segment): readonly string[] {
  return seg.gateways ?? [seg.gateway];
}

export function hostAddresses(host: HostSpec): readonly string[] {
  return host.addresses ?? [host.address];
}

export interface Topology {
  readonly segments: readonly Segment[];
  readonly nodes: readonly HostSpec[];
  /** A host outside the cluster, for egress checks. */
  readonly external: HostSpec;
  /** Where the lab's own datastore server (etcd) listens, when it runs one. */
  readonly datastore: HostSpec;
  /**
   * A host in the VPC but outside the cluster (a "VM"), present only when asked for: it reaches
   * pods by pod IP through the router's BGP routes, and pods see its own address.
   */
  readonly vpcHost?: HostSpec;
}

export interface TopologyOptions {
  /** Adds the VM on lan2 (host number 50), behind the router from node1 and node2. */
  readonly vpcHost?: boolean;
}

/** The VM's host number on its segment: .50 and ::50, clear of the nodes (11.., third ones on lan2 up to .49). */
export const VPC_HOST_NUMBER = 50;
export const VPC_HOST_NAME = "vm";

export const MAX_LAB_NODES = 40;

/** The default segments' ranges per family (documentation ranges: RFC 5737 and RFC 3849). */
export const LAB_SEGMENT_RANGES: Readonly<Record<string, Readonly<Record<Family, string>>>> = {
  lan1: { 4: "192.0.2.0/24", 6: "2001:db8:1::/64" },
  lan2: { 4: "198.51.100.0/24", 6: "2001:db8:2::/64" },
  ext: { 4: "203.0.113.0/24", 6: "2001:db8:3::/64" },
};

export class TopologyError extends Error {
  override readonly name = "TopologyError";
}

/**
 * Host number n of a range: .n in IPv4, and in IPv6 the decimal digits of n read as hex digits
 * (11 → ::11, 100 → ::100), so a host's addresses end alike in both families. Undefined when
 * the range has no room for it (the last address is kept free: IPv4's broadcast).
 */
export function labHostIP(prefix: IPPrefix, hostNumber: number): string | undefined {
  const offset = prefix.family === 4 ? BigInt(hostNumber) : BigInt(`0x${hostNumber}`);
  if (offset >= prefixSize(prefix) - 1n) return undefined;
  return formatIP(nthIP(prefix, offset));
}

/** A segment with a gateway (host number 1) in each of its ranges, primary first. */
export function segmentOf(name: string, cidrs: readonly string[]): Segment {
  if (cidrs.length === 0) throw new TopologyError(`segment "${name}" has no range`);
  const gateways = cidrs.map((c) => {
    const ip = labHostIP(parsePrefix(c), 1);
    if (!ip) throw new TopologyError(`segment "${name}" range ${c} has no room for a router`);
    return ip;
  });
  return { name, cidrs, gateways, cidr: cidrs[0] as string, gateway: gateways[0] as string };
}

/** A host on a segment with host number n in every range; throws when a range has no room. */
export function hostOn(seg: Segment, name: string, hostNumber: number): HostSpec {
  const addresses = segmentCidrs(seg).map((c) => {
    const prefix = parsePrefix(c);
    const ip = labHostIP(prefix, hostNumber);
    if (!ip) throw new TopologyError(`segment "${seg.name}" (${c}) has no room for ${name}`);
    return `${ip}/${prefix.length}`;
  });
  return { name, segment: seg.name, addresses, address: addresses[0] as string };
}

/**
 * The topology with the VM on `segment`: by default the segment of the first node that is not on
 * the first node's segment (so the VM reaches the first node's pods through the router, proving
 * the router's BGP route), else the first node's. Throws when the segment is unknown, is the
 * external one, or its host number 50 is taken or out of range.
 */
export function withVpcHost(topology: Topology, segment?: string): Topology {
  const first = topology.nodes[0]?.segment;
  const name = segment ?? topology.nodes.find((n) => n.segment !== first)?.segment ?? first;
  const seg = topology.segments.find((s) => s.name === name);
  if (!seg || name === topology.external.segment)
    throw new TopologyError(`the VM needs a segment of the nodes, not "${name ?? "(none)"}"`);
  const vm = hostOn(seg, VPC_HOST_NAME, VPC_HOST_NUMBER);
  const hosts = [...topology.nodes, topology.external, topology.datastore];
  const taken = new Set(hosts.flatMap((h) => hostAddresses(h).map((a) => a.split("/")[0])));
  const clash = hostAddresses(vm).find((a) => taken.has(a.split("/")[0]));
  if (clash) throw new TopologyError(`the VM's address ${clash} on "${name}" is taken`);
  if (hosts.some((h) => h.name === VPC_HOST_NAME))
    throw new TopologyError(`the name "${VPC_HOST_NAME}" is taken: the VM needs it`);
  return { ...topology, vpcHost: vm };
}

export function defaultTopology(
  nodeCount: number,
  families: readonly Family[] = [4],
  options: TopologyOptions = {},
): Topology {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_LAB_NODES) {
    throw new RangeError(`A lab has 1 to ${MAX_LAB_NODES} nodes, not ${nodeCount}`);
  }
  if (families.length === 0) throw new RangeError("A lab runs at least one address family");
  const seg = (name: string) =>
    segmentOf(
      name,
      families.map((f) => LAB_SEGMENT_RANGES[name]?.[f] as string),
    );
  const lan1 = seg("lan1");
  const lan2 = seg("lan2");
  const ext = seg("ext");
  const nodes: HostSpec[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    // node3, node6, ... behind the router: host numbers 10+i keep node names and addresses aligned.
    nodes.push(hostOn(i % 3 === 0 ? lan2 : lan1, `node${i}`, 10 + i));
  }
  const topology: Topology = {
    segments: [lan1, lan2, ext],
    nodes,
    external: hostOn(ext, "external", 100),
    datastore: hostOn(lan1, "datastore", 2),
  };
  return options.vpcHost ? withVpcHost(topology, lan2.name) : topology;
}

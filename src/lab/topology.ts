/**
 * The lab's underlay, as data (pure): L2 segments on documentation ranges, a router joining
 * them, and the nodes on them. By default two of every three nodes share the first segment
 * (so `auto` routes directly between them) and every third sits behind the router on the second
 * (so it is reached through VXLAN). An external host sits on a third segment (203.0.113.0/24).
 */
import { formatIP } from "../ipnet/address.ts";
import { nthIP, parsePrefix } from "../ipnet/prefix.ts";

export interface Segment {
  readonly name: string;
  readonly cidr: string;
  /** The router's address on the segment: every host's default gateway. */
  readonly gateway: string;
}

export interface HostSpec {
  readonly name: string;
  readonly segment: string;
  /** Address with prefix length, e.g. "192.0.2.11/24". */
  readonly address: string;
}

export interface Topology {
  readonly segments: readonly Segment[];
  readonly nodes: readonly HostSpec[];
  /** A host outside the cluster, for egress checks. */
  readonly external: HostSpec;
  /** Where the lab's own datastore server (etcd) listens, when it runs one. */
  readonly datastore: HostSpec;
}

export const MAX_LAB_NODES = 40;

function segment(name: string, cidr: string): Segment {
  return { name, cidr, gateway: formatIP(nthIP(parsePrefix(cidr), 1n)) };
}

function hostOn(seg: Segment, name: string, hostNumber: number): HostSpec {
  const prefix = parsePrefix(seg.cidr);
  return {
    name,
    segment: seg.name,
    address: `${formatIP(nthIP(prefix, BigInt(hostNumber)))}/${prefix.length}`,
  };
}

export function defaultTopology(nodeCount: number): Topology {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_LAB_NODES) {
    throw new RangeError(`A lab has 1 to ${MAX_LAB_NODES} nodes, not ${nodeCount}`);
  }
  const lan1 = segment("lan1", "192.0.2.0/24");
  const lan2 = segment("lan2", "198.51.100.0/24");
  const ext = segment("ext", "203.0.113.0/24");
  const nodes: HostSpec[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    // node3, node6, ... behind the router: host numbers 10+i keep node names and addresses aligned.
    nodes.push(hostOn(i % 3 === 0 ? lan2 : lan1, `node${i}`, 10 + i));
  }
  return {
    segments: [lan1, lan2, ext],
    nodes,
    external: hostOn(ext, "external", 100),
    datastore: hostOn(lan1, "datastore", 2),
  };
}

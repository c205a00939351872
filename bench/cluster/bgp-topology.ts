/**
 * The BGP part's underlay as data (pure): nodes spread over two L2 segments (documentation
 * ranges) joined by the router, which is also every node's BGP peer — the nodes take turns, the
 * first on lan1, the second on lan2, and so on, so half of every node's peers sit behind the
 * router and reach it only through the routes the router's BIRD learned and reflected.
 */
import { addToIP, formatIP } from "../../src/ipnet/address.ts";
import { firstIP, parsePrefix } from "../../src/ipnet/prefix.ts";
import type { HostSpec, Segment, Topology } from "../../src/lab/topology.ts";
import { TopologySizeError } from "./bench-topology.ts";

/** Host numbers start here: .1 is the router, .2–.10 stay free (as bench-topology.ts). */
const FIRST_HOST = 11;
export const BGP_SEGMENT_NAMES = ["lan1", "lan2"] as const;

export function twoSegmentTopology(cidrs: readonly [string, string], nodeNames: readonly string[]): Topology {
  const segments: Segment[] = cidrs.map((cidr, i) => {
    const prefix = parsePrefix(cidr, { strict: true });
    if (prefix.family !== 4) throw new TopologySizeError(`Segment "${cidr}" must be IPv4`);
    const perSegment = Math.ceil(nodeNames.length / 2);
    const size = 2 ** (32 - prefix.length);
    if (FIRST_HOST + perSegment > size - 1)
      throw new TopologySizeError(
        `Segment "${cidr}" cannot hold ${perSegment} nodes: room for ${Math.max(0, size - 1 - FIRST_HOST)}`,
      );
    return {
      name: BGP_SEGMENT_NAMES[i] as string,
      cidr,
      gateway: formatIP(addToIP(firstIP(prefix), 1n)),
    };
  });
  const host = (name: string, segment: Segment, n: number): HostSpec => {
    const prefix = parsePrefix(segment.cidr);
    return {
      name,
      segment: segment.name,
      address: `${formatIP(addToIP(firstIP(prefix), BigInt(n)))}/${prefix.length}`,
    };
  };
  const first = segments[0] as Segment;
  return {
    segments,
    nodes: nodeNames.map((name, i) => host(name, segments[i % 2] as Segment, FIRST_HOST + Math.floor(i / 2))),
    // Neither is built (buildUnderlay only builds the hosts it is given); the shape needs them.
    external: host("external", first, 2),
    datastore: host("datastore", first, 3),
  };
}

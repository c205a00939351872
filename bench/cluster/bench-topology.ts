/**
 * The benchmark's underlay as data (pure): every node on one L2 segment, as host-gw needs, on a
 * documentation range. The lab's default topology stops at 40 nodes and puts every third node
 * behind the router; the benchmark needs 50 and more on one segment, so it describes its own in
 * the lab's Topology shape and builds it with the lab's buildUnderlay.
 */
import { addToIP, formatIP } from "../../src/ipnet/address.ts";
import { firstIP, parsePrefix } from "../../src/ipnet/prefix.ts";
import type { HostSpec, Segment, Topology } from "../../src/lab/topology.ts";

/** Host numbers start here: .1 is the router (every host's gateway), .2–.10 stay free. */
const FIRST_HOST = 11;

export class TopologySizeError extends Error {
  override readonly name = "TopologySizeError";
}

export function segmentTopology(cidr: string, nodeNames: readonly string[]): Topology {
  const prefix = parsePrefix(cidr);
  if (prefix.family !== 4) throw new TopologySizeError(`Segment "${cidr}" must be IPv4`);
  const size = 2 ** (32 - prefix.length);
  if (FIRST_HOST + nodeNames.length > size - 1) {
    throw new TopologySizeError(
      `Segment "${cidr}" cannot hold ${nodeNames.length} nodes: room for ${Math.max(0, size - 1 - FIRST_HOST)}`,
    );
  }
  const base = firstIP(prefix);
  const host = (name: string, n: number): HostSpec => ({
    name,
    segment: "lan",
    address: `${formatIP(addToIP(base, BigInt(n)))}/${prefix.length}`,
  });
  const segment: Segment = { name: "lan", cidr, gateway: formatIP(addToIP(base, 1n)) };
  return {
    segments: [segment],
    nodes: nodeNames.map((name, i) => host(name, FIRST_HOST + i)),
    // Neither is built (buildUnderlay only builds the hosts it is given); the shape needs them.
    external: host("external", 2),
    datastore: host("datastore", 3),
  };
}

/** The address without its prefix length: "192.0.2.11/24" → "192.0.2.11". */
export function hostIP(spec: HostSpec): string {
  return spec.address.split("/")[0] as string;
}

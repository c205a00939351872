import { describe, expect, test } from "bun:test";
import { TopologySizeError } from "./bench-topology.ts";
import { twoSegmentTopology } from "./bgp-topology.ts";

describe("twoSegmentTopology", () => {
  test("puts the nodes on the two segments in turns, each from host .11, with the router as .1", () => {
    const t = twoSegmentTopology(["192.0.2.0/24", "198.51.100.0/24"], ["n1", "n2", "n3"]);
    expect(t.segments.map((s) => [s.name, s.cidr, s.gateway])).toEqual([
      ["lan1", "192.0.2.0/24", "192.0.2.1"],
      ["lan2", "198.51.100.0/24", "198.51.100.1"],
    ]);
    expect(t.nodes.map((n) => [n.name, n.segment, n.address])).toEqual([
      ["n1", "lan1", "192.0.2.11/24"],
      ["n2", "lan2", "198.51.100.11/24"],
      ["n3", "lan1", "192.0.2.12/24"],
    ]);
  });

  test("refuses IPv6 and segments too small for their half of the nodes", () => {
    expect(() => twoSegmentTopology(["2001:db8::/64", "198.51.100.0/24"], ["a"])).toThrow(TopologySizeError);
    const names = Array.from({ length: 10 }, (_, i) => `n${i}`);
    expect(() => twoSegmentTopology(["192.0.2.0/28", "198.51.100.0/24"], names)).toThrow(
      /cannot hold 5 nodes/,
    );
  });
});

import { describe, expect, test } from "bun:test";
import { hostIP, segmentTopology, TopologySizeError } from "./bench-topology.ts";

describe("segmentTopology", () => {
  test("50 nodes on one /24 segment with distinct addresses, the router at .1", () => {
    const names = Array.from({ length: 50 }, (_, i) => `node${i + 1}`);
    const t = segmentTopology("192.0.2.0/24", names);
    expect(t.segments).toEqual([{ name: "lan", cidr: "192.0.2.0/24", gateway: "192.0.2.1" }]);
    expect(t.nodes.map((n) => n.name)).toEqual(names);
    expect(t.nodes.every((n) => n.segment === "lan")).toBe(true);
    expect(t.nodes[0]?.address).toBe("192.0.2.11/24");
    expect(t.nodes[49]?.address).toBe("192.0.2.60/24");
    expect(new Set(t.nodes.map((n) => n.address)).size).toBe(50);
    expect(t.nodes.map(hostIP)).not.toContain("192.0.2.1");
  });

  test("a segment too small for the nodes is refused before anything is built", () => {
    const names = Array.from({ length: 245 }, (_, i) => `n${i}`);
    expect(() => segmentTopology("198.51.100.0/24", names)).toThrow(TopologySizeError);
    expect(segmentTopology("198.51.100.0/24", names.slice(0, 244)).nodes.at(-1)?.address).toBe(
      "198.51.100.254/24",
    );
    expect(() => segmentTopology("2001:db8::/64", ["a"])).toThrow("must be IPv4");
  });
});

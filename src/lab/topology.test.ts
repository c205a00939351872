import { describe, expect, test } from "bun:test";
import { defaultTopology } from "./topology.ts";

describe("defaultTopology", () => {
  test("three nodes: two on one segment, the third behind the router", () => {
    const t = defaultTopology(3);
    expect(t.nodes.map((n) => `${n.name} ${n.segment} ${n.address}`)).toEqual([
      "node1 lan1 192.0.2.11/24",
      "node2 lan1 192.0.2.12/24",
      "node3 lan2 198.51.100.13/24",
    ]);
    expect(t.segments.map((s) => `${s.name} ${s.cidr} gw ${s.gateway}`)).toEqual([
      "lan1 192.0.2.0/24 gw 192.0.2.1",
      "lan2 198.51.100.0/24 gw 198.51.100.1",
      "ext 203.0.113.0/24 gw 203.0.113.1",
    ]);
    expect(t.external.address).toBe("203.0.113.100/24");
  });

  test("every address is unique and only documentation ranges are used", () => {
    const t = defaultTopology(40);
    const all = [...t.nodes, t.external, t.datastore].map((h) => h.address.split("/")[0]);
    expect(new Set(all).size).toBe(all.length);
    for (const a of all) expect(a).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\./);
  });

  test("refuses node counts outside 1..40", () => {
    expect(() => defaultTopology(0)).toThrow("1 to 40");
    expect(() => defaultTopology(41)).toThrow("1 to 40");
  });
});

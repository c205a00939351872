import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../../cluster/diagnosis-protocol.ts";
import { BGP_FACTS, BGP_SNAPSHOT, birdRoute, withFacts } from "../../diagnosis/fixtures/lab-bgp.ts";
import { LAB_FACTS } from "../../diagnosis/fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "../../diagnosis/fixtures/lab-snapshot.ts";
import { buildClusterMap } from "../cluster-map.ts";
import { linkLines } from "./link-lines.ts";

const ROUTER = [{ name: "router", addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"] }];
const lines = (snapshot = BGP_SNAPSHOT, facts: readonly NodeFacts[] = BGP_FACTS) =>
  linkLines(buildClusterMap(snapshot, facts, [], [], 1, LAB_NOW, ROUTER), undefined);
const shown = (ls: ReturnType<typeof lines>) =>
  ls.map((l) => [l.from, l.to, l.router ?? "-", l.style, l.label, l.ok]);

describe("linkLines", () => {
  test("a bgp lab: BGP straight on lan1, through the router to lan2, one line per pair and way", () => {
    expect(shown(lines())).toEqual([
      ["node1", "node2", "-", "bgp", "BGP", true],
      ["node1", "node3", "router", "bgp", "BGP via router", true],
      ["node2", "node3", "router", "bgp", "BGP via router", true],
    ]);
    const tip = lines()[1]?.tooltip.split("\n");
    expect(tip).toEqual([
      "node1 → node3 (10.244.8.0/24): 10.244.8.0/24 via 192.0.2.1 dev eth0 proto bird",
      "node3 → node1 (10.244.0.0/24): 10.244.0.0/24 via 198.51.100.1 dev eth0 proto bird",
    ]);
  });

  test("the default lab keeps its direct and VXLAN lines", () => {
    expect(shown(lines(LAB_SNAPSHOT, LAB_FACTS))).toEqual([
      ["node1", "node2", "-", "direct", "direct", true],
      ["node1", "node3", "-", "vxlan", "VXLAN", true],
      ["node2", "node3", "-", "vxlan", "VXLAN", true],
    ]);
  });

  test("a missing BGP route breaks its line through the router", () => {
    const facts = withFacts("node3", (f) => ({
      ...f,
      routes: f.routes.filter((r) => r.dst !== "10.244.3.0/24"),
    }));
    const l = lines(BGP_SNAPSHOT, facts).find((x) => [x.from, x.to].sort().join() === "node2,node3");
    expect(l).toMatchObject({ router: "router", style: "bgp", label: "BGP via router ⚠ drift", ok: false });
    expect(l?.tooltip).toContain("node3 → node2 (10.244.3.0/24): no route for 10.244.3.0/24  ⚠ not what");
  });

  test("auto with BGP: BIRD's route on top of podnet's backup shares the line, drawn as BGP", () => {
    const facts = withFacts(
      "node1",
      (f) => ({
        ...f,
        routes: [...f.routes, birdRoute("10.244.3.0/24", "192.0.2.12")],
        ...(BGP_FACTS[0]?.bgp ? { bgp: BGP_FACTS[0].bgp } : {}),
      }),
      LAB_FACTS,
    );
    const line = lines(LAB_SNAPSHOT, facts).find((l) => l.to === "node2");
    expect(line).toMatchObject({ style: "bgp", label: "BGP / direct", ok: true });
    // Without BGP peers the same BIRD route is a leftover: the line shows the drift.
    const leftover = withFacts(
      "node1",
      (f) => ({ ...f, routes: [...f.routes, birdRoute("10.244.3.0/24", "192.0.2.12")] }),
      LAB_FACTS,
    );
    expect(lines(LAB_SNAPSHOT, leftover).find((l) => l.to === "node2")).toMatchObject({ ok: false });
  });

  test("on a big map only the focused node's lines and the broken ones", () => {
    const base = buildClusterMap(BGP_SNAPSHOT, BGP_FACTS, [], [], 1, LAB_NOW, ROUTER);
    const many = {
      ...base,
      nodes: [
        ...base.nodes,
        ...Array.from({ length: 12 }, (_, i) => ({ ...base.nodes[0], name: `extra${i}` })),
      ],
    } as typeof base;
    expect(linkLines(many, undefined)).toEqual([]);
    expect(linkLines(many, "node3").map((l) => [l.from, l.to])).toEqual([
      ["node1", "node3"],
      ["node2", "node3"],
    ]);
  });
});

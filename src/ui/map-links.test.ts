import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { BGP_FACTS, BGP_SNAPSHOT, sessionDown, withBgp, withFacts } from "../diagnosis/fixtures/lab-bgp.ts";
import { LAB_NOW } from "../diagnosis/fixtures/lab-snapshot.ts";
import { buildClusterMap } from "./cluster-map.ts";

/** The lab's router as `podnet lab ui` names it. */
const ROUTER = [{ name: "router", addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"] }];
const bgpMap = (facts: readonly NodeFacts[] = BGP_FACTS) =>
  buildClusterMap(BGP_SNAPSHOT, facts, [], [], 1, LAB_NOW, ROUTER);
const without = (block: string) => (f: NodeFacts) => ({
  ...f,
  routes: f.routes.filter((r) => r.dst !== block),
});

describe("the map of a bgp lab", () => {
  const map = bgpMap();

  test("links every pair by BIRD's routes: straight on a segment, through the router across", () => {
    expect(map.links.map((l) => [l.from, l.to, l.kind, l.router ?? "-", l.ok])).toEqual([
      ["node1", "node2", "bgp", "-", true],
      ["node1", "node3", "bgp", "router", true],
      ["node2", "node1", "bgp", "-", true],
      ["node2", "node3", "bgp", "router", true],
      ["node3", "node1", "bgp", "router", true],
      ["node3", "node2", "bgp", "router", true],
    ]);
    expect(map.links[1]?.route).toBe("10.244.8.0/24 via 192.0.2.1 dev eth0 proto bird");
    expect(map.drift).toEqual([]);
  });

  test("an unnamed router is known by its gateway address", () => {
    const plain = buildClusterMap(BGP_SNAPSHOT, BGP_FACTS, [], [], 1, LAB_NOW);
    const across = plain.links.filter((l) => l.router !== undefined);
    expect(across.map((l) => [l.from, l.router])).toEqual([
      ["node1", "192.0.2.1"],
      ["node2", "192.0.2.1"],
      ["node3", "198.51.100.1"],
      ["node3", "198.51.100.1"],
    ]);
  });

  test("every node shows its BIRD: running, its sessions up", () => {
    expect(map.nodes.map((n) => [n.name, n.bgp])).toEqual([
      ["node1", { enabled: true, running: true, sessions: 1, established: 1 }],
      ["node2", { enabled: true, running: true, sessions: 1, established: 1 }],
      ["node3", { enabled: true, running: true, sessions: 1, established: 1 }],
    ]);
    // No VXLAN device under bgp: no VTEP drawn.
    expect(map.nodes.flatMap((n) => n.blocks).every((b) => b.vtep === undefined)).toBe(true);
  });

  test("a session down shows on its node, and its drift", () => {
    const down = bgpMap(withBgp("node3", sessionDown));
    expect(down.nodes.find((n) => n.name === "node3")?.bgp).toEqual({
      enabled: true,
      running: true,
      sessions: 1,
      established: 0,
    });
    expect(down.drift).toContainEqual(expect.objectContaining({ node: "node3", kind: "bgp-session-down" }));
  });

  test("a BGP route missing across the router is a broken link through the router, with its cause", () => {
    const broken = bgpMap(withFacts("node1", without("10.244.8.0/24")));
    const link = broken.links.find((l) => l.from === "node1" && l.to === "node3");
    expect(link).toMatchObject({
      kind: "bgp",
      router: "router",
      ok: false,
      route: "no route for 10.244.8.0/24",
    });
    expect(broken.links.filter((l) => !l.ok)).toHaveLength(1);
    expect(broken.drift).toContainEqual(
      expect.objectContaining({ node: "node1", kind: "missing-route", subject: "10.244.8.0/24" }),
    );
  });

  test("a BGP route missing on a segment is a broken link straight to the peer", () => {
    const broken = bgpMap(withFacts("node2", without("10.244.0.0/24")));
    const link = broken.links.find((l) => l.from === "node2" && l.to === "node1");
    expect(link).toMatchObject({ kind: "bgp", ok: false });
    expect(link?.router).toBeUndefined();
  });

  test("a BGP route with the wrong next hop is drawn as it is and marked", () => {
    const facts = withFacts("node1", (f) => ({
      ...f,
      routes: f.routes.map((r) => (r.dst === "10.244.3.0/24" ? { ...r, via: "192.0.2.1" } : r)),
    }));
    const link = bgpMap(facts).links.find((l) => l.from === "node1" && l.to === "node2");
    expect(link).toMatchObject({ kind: "bgp", router: "router", ok: false });
    expect(link?.route).toContain("via 192.0.2.1");
  });

  test("BIRD not running: its node says so", () => {
    const stopped = bgpMap(withBgp("node2", (b) => ({ ...b, running: false, sessions: [] })));
    expect(stopped.nodes.find((n) => n.name === "node2")?.bgp).toMatchObject({ running: false, sessions: 0 });
  });
});

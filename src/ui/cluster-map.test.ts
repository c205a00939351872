import { describe, expect, test } from "bun:test";
import { LAB_FACTS } from "../diagnosis/fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "../diagnosis/fixtures/lab-snapshot.ts";
import { factsWith, withoutRoute } from "../diagnosis/fixtures/trace-scenarios.ts";
import { buildClusterMap } from "./cluster-map.ts";
import { MAP_SCHEMA } from "./map-types.ts";

const HOSTS = [{ name: "external", ip: "203.0.113.10", note: "outside" }];

describe("buildClusterMap", () => {
  const map = buildClusterMap(LAB_SNAPSHOT, LAB_FACTS, [], HOSTS, 7, LAB_NOW);

  test("carries the version, the store and the config", () => {
    expect(map.schema).toBe(MAP_SCHEMA);
    expect(map.version).toBe(7);
    expect(map.generatedAt).toBe(LAB_NOW.toISOString());
    expect(map.revision).toBe(41);
    expect(map.clusterCidrs).toEqual(["10.244.0.0/16"]);
    expect(map.hosts).toEqual(HOSTS);
    expect(map.factsAt).toBeDefined();
  });

  test("puts nodes on their uplink segments, with the routers from their default routes", () => {
    expect(map.segments).toEqual([
      { cidr: "192.0.2.0/24", routers: ["192.0.2.1"], nodes: ["node1", "node2"] },
      { cidr: "198.51.100.0/24", routers: ["198.51.100.1"], nodes: ["node3"] },
    ]);
    expect(map.routers.map((r) => [r.name, r.addresses, r.segments])).toEqual([
      ["192.0.2.1", ["192.0.2.1"], ["192.0.2.0/24"]],
      ["198.51.100.1", ["198.51.100.1"], ["198.51.100.0/24"]],
    ]);
    expect(map.nodes.map((n) => [n.name, n.segment, n.answering])).toEqual([
      ["node1", "192.0.2.0/24", true],
      ["node2", "192.0.2.0/24", true],
      ["node3", "198.51.100.0/24", true],
    ]);
  });

  test("a named router is one router joining its segments, and the outside host on its subnet", () => {
    const named = buildClusterMap(
      LAB_SNAPSHOT,
      LAB_FACTS,
      [],
      [{ name: "external", ip: "203.0.113.10", note: "outside", cidr: "203.0.113.0/24" }],
      1,
      LAB_NOW,
      [{ name: "router", addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"] }],
    );
    expect(named.routers).toEqual([
      {
        name: "router",
        addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"],
        segments: ["192.0.2.0/24", "198.51.100.0/24"],
      },
    ]);
    // The segments still list their gateway addresses.
    expect(named.segments.map((s) => s.routers)).toEqual([["192.0.2.1"], ["198.51.100.1"]]);
    expect(named.hosts[0]?.routers).toEqual(["router"]);
  });

  test("lists every node's blocks with their pods", () => {
    const node1 = map.nodes.find((n) => n.name === "node1");
    expect(node1?.nodeIPs).toEqual(["192.0.2.11"]);
    expect(node1?.blocks).toHaveLength(1);
    const block = node1?.blocks[0];
    expect(block?.cidr).toBe("10.244.0.0/24");
    expect(block?.size).toBe(253);
    expect(block?.used).toBe(2);
    expect(block?.gateway).toBe("10.244.0.1");
    expect(block?.vtep).toBe("10.244.0.0");
    expect(block?.pods.map((p) => [p.name, p.ip])).toEqual([
      ["node1-a", "10.244.0.2"],
      ["node1-b", "10.244.0.3"],
    ]);
  });

  test("draws links from the real peer routes: direct on a segment, VXLAN across", () => {
    const from1 = map.links.filter((l) => l.from === "node1");
    expect(from1.map((l) => [l.to, l.kind, l.block, l.ok])).toEqual([
      ["node2", "direct", "10.244.3.0/24", true],
      ["node3", "vxlan", "10.244.8.0/24", true],
    ]);
    expect(from1[0]?.route).toBe("10.244.3.0/24 via 192.0.2.12 dev eth0 proto 200");
    expect(map.links).toHaveLength(6);
    expect(map.drift).toEqual([]);
  });

  test("lists Services with their ports and endpoints", () => {
    const echo = map.services.find((s) => s.name === "echo");
    expect(echo?.clusterIPs).toEqual(["10.102.49.235"]);
    expect(echo?.ports[0]).toEqual({ protocol: "TCP", port: 80, targetPort: 8080, nodePort: 32032 });
    expect(echo?.endpoints).toHaveLength(6);
    expect(map.services.find((s) => s.name === "no-endpoints")?.endpoints).toEqual([]);
  });

  test("a headless Service is listed as headless, without ClusterIP", () => {
    const echo = LAB_SNAPSHOT.services[0];
    if (echo === undefined) throw new Error("the lab fixture has no Service");
    const headless = { ...echo.service, name: "echo-headless", clusterIPs: [], headless: true as const };
    const snapshot = { ...LAB_SNAPSHOT, services: [{ service: headless, endpoints: echo.endpoints }] };
    const svc = buildClusterMap(snapshot, LAB_FACTS, [], [], 1, LAB_NOW).services[0];
    expect(svc).toMatchObject({ name: "echo-headless", clusterIPs: [], headless: true });
    expect(map.services.find((s) => s.name === "echo")?.headless).toBeUndefined();
  });

  test("a missing peer route is a broken link, and drift", () => {
    const broken = buildClusterMap(LAB_SNAPSHOT, withoutRoute("node1", "10.244.3.0/24"), [], [], 1, LAB_NOW);
    const link = broken.links.find((l) => l.from === "node1" && l.to === "node2");
    expect(link).toMatchObject({ kind: "direct", ok: false, route: "no route for 10.244.3.0/24" });
    expect(broken.drift).toContainEqual(
      expect.objectContaining({ node: "node1", kind: "missing-route", subject: "10.244.3.0/24" }),
    );
  });

  test("a wrong peer route is drawn as it is and marked", () => {
    const facts = factsWith("node1", (f) => ({
      ...f,
      routes: f.routes.map((r) => (r.dst === "10.244.3.0/24" ? { ...r, via: "192.0.2.99" } : r)),
    }));
    const wrong = buildClusterMap(LAB_SNAPSHOT, facts, [], [], 1, LAB_NOW);
    const link = wrong.links.find((l) => l.from === "node1" && l.to === "node2");
    expect(link).toMatchObject({ kind: "direct", ok: false });
    expect(link?.route).toContain("via 192.0.2.99");
  });

  test("a node that did not answer is kept, placed by its node IP, and named", () => {
    const facts = LAB_FACTS.filter((f) => f.node !== "node2");
    const partial = buildClusterMap(
      LAB_SNAPSHOT,
      facts,
      [{ node: "node2", reason: "no answer" }],
      [],
      1,
      LAB_NOW,
    );
    const node2 = partial.nodes.find((n) => n.name === "node2");
    expect(node2?.answering).toBe(false);
    expect(node2?.segment).toBe("192.0.2.0/24");
    expect(node2?.blocks[0]?.pods).toHaveLength(2);
    expect(partial.missing).toEqual([{ node: "node2", reason: "no answer" }]);
    expect(partial.drift).toContainEqual(
      expect.objectContaining({ node: "node2", kind: "agent-not-answering" }),
    );
    expect(partial.links.some((l) => l.from === "node2")).toBe(false);
  });

  test("facts of a node the datastore no longer lists are left out", () => {
    const snapshot = { ...LAB_SNAPSHOT, nodes: LAB_SNAPSHOT.nodes.filter((n) => n.name !== "node3") };
    const gone = buildClusterMap(snapshot, LAB_FACTS, [], [], 1, LAB_NOW);
    expect(gone.nodes.map((n) => n.name)).toEqual(["node1", "node2"]);
    expect(gone.segments.map((s) => s.cidr)).toEqual(["192.0.2.0/24"]);
  });
});

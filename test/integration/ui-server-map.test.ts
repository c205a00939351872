/**
 * `podnet ui`'s server (src/ui/ui-server.ts) on a real cluster (harness/ui-server-cluster.ts):
 * /api/map lists the nodes, their segments, the router, blocks, pods, the direct and VXLAN links
 * and a Service; a pod record written to the datastore reaches an open /api/events stream within a
 * second.
 */
import { describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import { putPodRecord } from "../../src/cluster/pod-records.ts";
import type { ClusterMap } from "../../src/ui/map-types.ts";
import { readMapUntil } from "../support/read-map-until.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { NODES, podNames, useUiServerCluster } from "./harness/ui-server-cluster.ts";

describe("podnet ui's server on a real cluster: the map", () => {
  const ui = useUiServerCluster();

  test("three agents, a pod on each, a Service, and the server", async () => {
    const { server } = await ui.start();
    expect(server.token).toBeUndefined();
  }, 120_000);

  test("/api/map: segments, nodes, blocks, pods, links and the Service", async () => {
    const { cluster: c, pods, api } = ui.get();
    // The facts arrive once every agent answered; wait for a map built with all three.
    let last: ClusterMap | undefined;
    const map = await pollUntil(
      "a map with every node's facts",
      async () => {
        last = (await (await api("/api/map")).json()) as ClusterMap;
        // The proxies may still be catching up with the new Service: facts are read again every 10 s.
        const settled =
          last.nodes.every((n) => n.answering) && last.links.length === 6 && last.drift.length === 0;
        return settled ? last : undefined;
      },
      60_000,
      { detail: () => JSON.stringify(last) },
    );
    const m = map.value;
    expect(m.nodes.map((n) => n.name)).toEqual([...NODES]);
    expect(m.segments.map((seg) => [seg.cidr, seg.nodes])).toEqual([
      ["192.0.2.0/24", ["node1", "node2"]],
      ["198.51.100.0/24", ["node3"]],
    ]);
    expect(m.segments.every((seg) => seg.routers.length === 1)).toBe(true);
    // The nodes' default gateways on both segments are one router, the one the operator named.
    expect(m.routers).toEqual([
      {
        name: "router",
        addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"],
        segments: ["192.0.2.0/24", "198.51.100.0/24"],
      },
    ]);
    expect(m.hosts[0]?.routers).toEqual(["router"]);
    for (const node of NODES) {
      const n = m.nodes.find((x) => x.name === node);
      expect(n?.nodeIPs).toEqual([addressOf(c.node(node))]);
      expect(n?.blocks.map((b) => b.cidr)).toEqual([c.blockOf(node)]);
      expect(n?.blocks[0]?.pods.map((p) => `${p.name} ${p.ip}`)).toEqual([`${node}-a ${pods.get(node)?.ip}`]);
    }
    const kinds = m.links.map((l) => `${l.from}>${l.to}:${l.kind}:${l.ok}`).sort();
    expect(kinds).toEqual([
      "node1>node2:direct:true",
      "node1>node3:vxlan:true",
      "node2>node1:direct:true",
      "node2>node3:vxlan:true",
      "node3>node1:vxlan:true",
      "node3>node2:vxlan:true",
    ]);
    const echo = m.services.find((x) => x.name === "echo");
    expect(echo?.clusterIPs).toHaveLength(1);
    expect(echo?.endpoints.map((e) => e.pod).sort()).toEqual(NODES.map((n) => `default/${n}-a`));
    expect(m.hosts.map((h) => h.ip)).toEqual(["203.0.113.10"]);
    expect(m.drift).toEqual([]);
    expect(m.missing).toEqual([]);
  }, 90_000);

  test("a pod record written to the datastore is on /api/events within a second", async () => {
    const { cluster: c, store, api } = ui.get();
    const res = await api("/api/events");
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    if (!res.body) throw new Error("no body");
    const reading = readMapUntil(res.body, (m) => podNames(m).includes("late-pod"), 5000);
    await Bun.sleep(200);
    const started = Date.now();
    await putPodRecord(store, {
      namespace: "default",
      name: "late-pod",
      node: "node2",
      ips: [`${c.blockOf("node2").split(".").slice(0, 3).join(".")}.200`],
      labels: {},
    });
    const map = await reading;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(map.nodes.find((n) => n.name === "node2")?.blocks[0]?.pods.map((p) => p.name)).toContain(
      "late-pod",
    );
  }, 30_000);
});

/**
 * The node agent with the `auto` backend on a real underlay of namespaces, in steady state:
 * node1 and node2 share a segment (direct routes), node3 sits behind a router (VXLAN). Blocks,
 * routes, their repair by the resync, metrics, pod-to-pod traffic, and a node whose IP changes.
 * Agents run the compiled executable inside their node namespaces on one SQLite datastore, with a
 * 5 s lease TTL and a 1 s resync. Every claim is read back from the kernel or the datastore.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { listBlockLeases } from "../../src/cluster/block-leases.ts";
import { listIpamReports } from "../../src/cluster/ipam-report.ts";
import { listNodes } from "../../src/cluster/node-registry.ts";
import { formatPrefix } from "../../src/ipnet/prefix.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { autoPath, useAutoBackendCluster } from "./harness/auto-backend-cluster.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { ipJsonIn } from "./harness/kernel-state.ts";
import { routeProblems } from "./harness/route-problems.ts";
import type { ClusterPod } from "./harness/test-cluster.ts";

const { cluster, logs, expectRoutes, expectReach } = useAutoBackendCluster();
const pods = new Map<string, ClusterPod>();

describe("podnet agent, auto backend", () => {
  test("each node leases a distinct block, announces it and writes a conflist naming it", async () => {
    const c = cluster();
    const names = ["node1", "node2", "node3"];
    const blocks = names.map((n) => c.blockOf(n));
    expect(new Set(blocks).size).toBe(3);
    for (const b of blocks) expect(b).toMatch(/^10\.244\.\d{1,3}\.0\/24$/);
    const store = await c.openStore();
    try {
      const { leases } = await listBlockLeases(store);
      const { nodes } = await listNodes(store);
      // The datastore holds exactly one block per node, the one its conflist names.
      expect(leases.map((l) => `${l.node}=${formatPrefix(l.block)}`).sort()).toEqual(
        names.map((n, i) => `${n}=${blocks[i]}`).sort(),
      );
      for (const [i, name] of names.entries()) {
        expect(nodes.find((n) => n.name === name)).toMatchObject({
          nodeIPs: [addressOf(c.node(name))],
          blocks: [blocks[i]],
          backend: "auto",
        });
        const conf = JSON.parse(readFileSync(c.node(name).conflistPath, "utf8")) as {
          plugins: { readyFile?: string; mtu?: number }[];
        };
        expect(conf.plugins[0]?.readyFile).toBe(c.node(name).readyFile);
        // auto may tunnel, so every pod gets the VXLAN MTU: 1500 - 50.
        expect(conf.plugins[0]?.mtu).toBe(1450);
      }
    } finally {
      await store.close();
    }
  });

  test("direct routes to the node on the same segment, VXLAN (onlink, neighbour, FDB) to the one behind the router", async () => {
    const c = cluster();
    await expectRoutes(c, ["node1", "node2", "node3"]);
  });

  test("routes, neighbours and FDB entries removed by hand are restored by the periodic resync", async () => {
    const c = cluster();
    const ns = c.node("node1").netns;
    const b2 = c.blockOf("node2");
    const b3 = c.blockOf("node3");
    mustRunSync(["ip", "-n", ns, "route", "del", b2, "proto", "200"]);
    mustRunSync(["ip", "-n", ns, "route", "del", b3, "proto", "200"]);
    const mac3 = ipJsonIn<{ address: string }>(c.node("node3").netns, ["link", "show", "dev", "podnet-vx"])[0]
      ?.address as string;
    mustRunSync([
      "bridge",
      "-n",
      ns,
      "fdb",
      "del",
      mac3,
      "dev",
      "podnet-vx",
      "dst",
      addressOf(c.node("node3")),
    ]);
    const vtep3 = b3.split("/")[0] as string;
    mustRunSync(["ip", "-n", ns, "neigh", "del", vtep3, "dev", "podnet-vx"]);
    expect(c.routeTo("node1", b2)).toBeUndefined();
    expect(c.fdb("node1").some((f) => f.mac === mac3)).toBe(false);
    expect(c.neighs("node1").some((n) => n.dst === vtep3)).toBe(false);
    const ms = await expectRoutes(c, ["node1", "node2", "node3"], 4000);
    // --resync 1: one period plus the sync itself.
    expect(ms).toBeLessThan(2500);
  });

  test("metrics are served on the node's loopback", async () => {
    const c = cluster();
    const text = await c.metrics("node1");
    expect(metricValue(text, `podnet_agent_blocks{block="${c.blockOf("node1")}"}`)).toBe(1);
    expect(metricValue(text, "podnet_agent_ready")).toBe(1);
    expect(metricValue(text, 'podnet_agent_peer_routes{route="direct"}')).toBe(1);
    expect(metricValue(text, 'podnet_agent_peer_routes{route="vxlan"}')).toBe(1);
    // Several resyncs have run (1 s period), one of which repaired the routes deleted above.
    expect(metricValue(text, "podnet_agent_route_sync_duration_seconds_count")).toBeGreaterThanOrEqual(2);
    expect(metricValue(text, 'podnet_agent_route_sync_duration_seconds_bucket{le="+Inf"}')).toBe(
      metricValue(text, "podnet_agent_route_sync_duration_seconds_count"),
    );
    expect(metricValue(text, "podnet_agent_route_changes_total")).toBeGreaterThanOrEqual(3);
    expect(text).toContain("# TYPE podnet_agent_errors_total counter");
    for (const kind of ["store", "sync", "lease", "uplink"])
      expect(metricValue(text, `podnet_agent_errors_total{kind="${kind}"}`)).toBeGreaterThanOrEqual(0);
  });

  test("pods on different nodes reach each other over TCP and the receiver sees the sender's pod IP", async () => {
    const c = cluster();
    for (const n of ["node1", "node2", "node3"]) pods.set(n, await c.addPod(n));
    const [p1, p2, p3] = ["node1", "node2", "node3"].map((n) => pods.get(n) as ClusterPod) as [
      ClusterPod,
      ClusterPod,
      ClusterPod,
    ];
    for (const [from, to] of [
      [p1, p2],
      [p2, p1],
      [p1, p3],
      [p3, p2],
    ] as const) {
      const probe = await c.probe(from.netns, to.ip);
      expect(probe.reply).toMatchObject({ pod: to.name, ip: to.ip, from: from.ip });
    }
    // Each node publishes what it allocated (for `podnet ipam show/check`): its pod, no leak.
    const store = await c.openStore();
    let reports: Awaited<ReturnType<typeof listIpamReports>> = [];
    try {
      await pollUntil(
        "every node reporting its pod's address",
        async () => {
          reports = await listIpamReports(store);
          return ["node1", "node2", "node3"].every((n) => {
            const r = reports.find((x) => x.node === n);
            const pod = pods.get(n) as ClusterPod;
            return (
              JSON.stringify(r?.blocks) ===
              JSON.stringify([{ block: c.blockOf(n), allocated: [pod.ip], orphaned: [] }])
            );
          });
        },
        4000,
        { detail: () => JSON.stringify(reports) },
      );
    } finally {
      await store.close();
    }
    expect(
      metricValue(await c.metrics("node1"), `podnet_agent_allocations{block="${c.blockOf("node1")}"}`),
    ).toBe(1);
    const path = (from: string, ip: string) =>
      ipJsonIn<{ dev?: string }>(c.node(from).netns, ["route", "get", ip])[0]?.dev;
    expect(path("node1", p2.ip)).toBe("eth0");
    expect(path("node1", p3.ip)).toBe("podnet-vx");
  });

  test("a node whose IP changes is re-announced and its peers re-point their routes", async () => {
    const c = cluster();
    const moved = "192.0.2.52";
    c.moveAddress("node2", "192.0.2.12/24", `${moved}/24`);
    const ip = (n: string) => (n === "node2" ? moved : addressOf(c.node(n)));
    let last: string[] = [];
    const { ms } = await pollUntil(
      "peers re-pointing their routes to node2's new IP",
      () => {
        last = routeProblems(c, ["node1", "node2", "node3"], autoPath, ip);
        return last.length === 0;
      },
      8000,
      { detail: () => `${last.join("\n")}\n${logs()}` },
    );
    expect(ms).toBeLessThan(5000);
    const vx = ipJsonIn<{ linkinfo?: { info_data?: { local?: string } } }>(c.node("node2").netns, [
      "-d",
      "link",
      "show",
      "dev",
      "podnet-vx",
    ]);
    expect(vx[0]?.linkinfo?.info_data?.local).toBe(moved);
    const store = await c.openStore();
    try {
      const { nodes } = await listNodes(store);
      expect(nodes.find((n) => n.name === "node2")?.nodeIPs).toEqual([moved]);
    } finally {
      await store.close();
    }
    const [p1, p2, p3] = ["node1", "node2", "node3"].map((n) => pods.get(n) as ClusterPod) as [
      ClusterPod,
      ClusterPod,
      ClusterPod,
    ];
    await expectReach(c, p1, p2);
    await expectReach(c, p3, p2);
    await expectReach(c, p2, p3);
  });
});

/**
 * The node agent with the `auto` backend on a real underlay of namespaces: node1 and node2 share
 * a segment (direct routes), node3 sits behind a router (VXLAN); node4 joins, restarts, leaves,
 * comes back, is frozen past its lease and is finally removed. Agents run the compiled executable
 * inside their node namespaces on one SQLite datastore, with a 5 s lease TTL and a 1 s resync.
 * Every claim is read back from the kernel or the datastore.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { listBlockLeases } from "../../src/cluster/block-leases.ts";
import { extendClusterCidrs } from "../../src/cluster/cluster-config-store.ts";
import { listIpamReports } from "../../src/cluster/ipam-report.ts";
import { ipamKey, nodeKey } from "../../src/cluster/keys.ts";
import { listNodes } from "../../src/cluster/node-registry.ts";
import { formatPrefix } from "../../src/ipnet/prefix.ts";
import { PluginFailedError } from "../../src/lab/cni-runtime.ts";
import { mustRunSync, run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { AgentProcess, ClusterPod, PathKind, TestCluster } from "./cluster-harness.ts";
import {
  addressOf,
  agentLog,
  CLUSTER_CIDR,
  logTail,
  metricValue,
  pollUntil,
  rejection,
  routeProblems,
  useTestCluster,
} from "./cluster-harness.ts";
import { ipJsonIn } from "./kernel-state.ts";

const TTL = 5;
const cluster = useTestCluster(4);
const agents = new Map<string, AgentProcess>();
const pods = new Map<string, ClusterPod>();
/** node1, node2 (and node4) on lan1; node3 on lan2, behind the router. */
const lan1 = new Set(["node1", "node2", "node4"]);
const autoPath = (from: string, to: string): PathKind =>
  lan1.has(from) && lan1.has(to) ? "direct" : "vxlan";

function agent(name: string): AgentProcess {
  const a = agents.get(name);
  if (!a) throw new Error(`no agent on ${name}`);
  return a;
}

function start(c: TestCluster, name: string): AgentProcess {
  const a = c.startAgent(name, { backend: "auto", leaseTtl: TTL, resync: 1 });
  agents.set(name, a);
  return a;
}

function logs(): string {
  return [...agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a)}`).join("\n");
}

async function expectRoutes(c: TestCluster, names: readonly string[], timeoutMs = 5000): Promise<number> {
  let last: string[] = [];
  const { ms } = await pollUntil(
    `routes between ${names.join(", ")}`,
    () => {
      last = routeProblems(c, names, autoPath);
      return last.length === 0;
    },
    timeoutMs,
    () => `${last.join("\n")}\n${logs()}`,
  );
  return ms;
}

/** Polls until a TCP connection from `from` is answered by `to`, which sees `from`'s pod IP. */
async function expectReach(c: TestCluster, from: ClusterPod, to: ClusterPod, timeoutMs = 5000) {
  let last = "";
  await pollUntil(
    `${from.name} → ${to.name}`,
    async () => {
      try {
        const p = await c.probe(from.netns, to.ip, 1000);
        if (p.reply.pod === to.name && p.reply.from === from.ip && p.reply.ip === to.ip) return true;
        last = JSON.stringify(p.reply);
      } catch (e) {
        last = (e as Error).message;
      }
      return false;
    },
    timeoutMs,
    () => last,
  );
}

beforeAll(async () => {
  const c = cluster();
  for (const n of ["node1", "node2", "node3"]) start(c, n);
  await Promise.all(["node1", "node2", "node3"].map((n) => c.waitReady(agent(n))));
});

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
        () => JSON.stringify(reports),
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

  test("a joining node gets routes on every other node within seconds", async () => {
    const c = cluster();
    const a4 = start(c, "node4");
    const { ms } = await pollUntil(
      "every peer routing node4's block",
      () => {
        if (!existsSync(c.node("node4").conflistPath)) return false;
        const b4 = c.blockOf("node4");
        return ["node1", "node2", "node3"].every((n) => c.routeTo(n, b4) !== undefined);
      },
      8000,
      logs,
    );
    // From the agent's start (process start-up included) to a route on every peer.
    expect(Date.now() - a4.startedAt).toBeLessThan(5000);
    expect(ms).toBeLessThan(5000);
    await c.waitReady(a4);
    await expectRoutes(c, ["node1", "node2", "node3", "node4"]);
  });

  test("SIGTERM: exit 0, ready file removed, STATUS says not ready; peers keep the routes while the lease lives", async () => {
    const c = cluster();
    const n4 = c.node("node4");
    const b4 = c.blockOf("node4");
    await c.runtime("node4").status();
    expect(await c.stopAgent(agent("node4"))).toBe(0);
    expect(existsSync(n4.readyFile)).toBe(false);
    expect(existsSync(n4.conflistPath)).toBe(true);
    const failure = await rejection(c.runtime("node4").status());
    expect(failure).toBeInstanceOf(PluginFailedError);
    expect((failure as PluginFailedError).error?.code).toBe(50);
    expect(
      agentLog(agent("node4")).some(
        (l) => l.msg === "agent stopped; blocks stay leased until the lease expires",
      ),
    ).toBe(true);
    for (const n of ["node1", "node2", "node3"]) expect(c.routeTo(n, b4)).toBeDefined();
  });

  test("a bogus peer record holds back no other route; after a crash, STATUS is not ready until the restarted agent has synced", async () => {
    const c = cluster();
    const b4 = c.blockOf("node4");
    const store = await c.openStore();
    try {
      // A peer claiming a block it does not lease (outside the cluster CIDR) with an unroutable
      // node IP (the segment's broadcast address): it must be skipped, not block the others.
      await store.put(
        nodeKey("bogus"),
        JSON.stringify({
          name: "bogus",
          nodeIPs: ["192.0.2.255"],
          blocks: ["10.243.255.0/24"],
          backend: "auto",
          vtepMac: "02:00:00:00:00:99",
        }),
      );
      const a4 = start(c, "node4");
      await c.waitReady(a4, 8000);
      expect(c.blockOf("node4")).toBe(b4);
      await expectRoutes(c, ["node1", "node2", "node3", "node4"]);
      expect(c.routeTo("node4", "10.243.255.0/24")).toBeUndefined();
      expect(agentLog(a4).some((l) => l.msg === "peer block not routed" && l.peer === "bogus")).toBe(true);
      await c.runtime("node4").status();

      // A crash leaves the ready marker behind; it must not vouch for the node any more.
      expect(await c.stopAgent(a4, "SIGKILL")).not.toBe(0);
      expect(existsSync(c.node("node4").readyFile)).toBe(true);
      const failure = await rejection(c.runtime("node4").status());
      expect(failure).toBeInstanceOf(PluginFailedError);
      expect((failure as PluginFailedError).error?.code).toBe(50);
      expect((failure as PluginFailedError).error?.msg).toContain("no longer running");

      const again = start(c, "node4");
      // The crashed agent's marker is still there until the new agent starts: wait for the new one's.
      await pollUntil(
        "the restarted agent's own ready marker",
        () =>
          existsSync(c.node("node4").readyFile) &&
          readFileSync(c.node("node4").readyFile, "utf8").includes(`"pid":${again.child.pid}`),
        8000,
        () => logTail(again),
      );
      await c.runtime("node4").status();
      const text = await c.metrics("node4");
      expect(metricValue(text, "podnet_agent_ready")).toBe(1);
      expect(c.blockOf("node4")).toBe(b4);
    } finally {
      await store.delete(nodeKey("bogus"));
      await store.close();
    }
  });

  test("a node gone for good: its routes disappear from peers once its lease TTL has passed, not before", async () => {
    const c = cluster();
    const b4 = c.blockOf("node4");
    expect(await c.stopAgent(agent("node4"))).toBe(0);
    const { ms } = await pollUntil(
      "peers dropping node4's routes",
      () => ["node1", "node2", "node3"].every((n) => c.routeTo(n, b4) === undefined),
      (TTL + 5) * 1000,
      logs,
    );
    // The lease was last renewed at most TTL/3 before the stop.
    expect(ms).toBeGreaterThan((TTL * 2 * 1000) / 3 - 500);
    const store = await c.openStore();
    try {
      expect(await store.get(nodeKey("node4"))).toBeUndefined();
      const { leases } = await listBlockLeases(store);
      expect(leases.map((l) => l.node).sort()).toEqual(["node1", "node2", "node3"]);
    } finally {
      await store.close();
    }
    await expectRoutes(c, ["node1", "node2", "node3"]);
  });

  test("back after its lease expired, a node gets its previous block again", async () => {
    const c = cluster();
    const b4 = c.blockOf("node4");
    const a4 = start(c, "node4");
    await c.waitReady(a4);
    expect(c.blockOf("node4")).toBe(b4);
    await expectRoutes(c, ["node1", "node2", "node3", "node4"]);
  });

  test("an agent frozen past its lease TTL re-registers when it runs again, with the same block", async () => {
    const c = cluster();
    const b4 = c.blockOf("node4");
    const a4 = agent("node4");
    // A paused VM, a partition: the agent cannot renew, its lease expires, peers drop its routes.
    a4.child.kill("SIGSTOP");
    try {
      await pollUntil(
        "peers dropping the frozen node's routes",
        () => ["node1", "node2", "node3"].every((n) => c.routeTo(n, b4) === undefined),
        (TTL + 5) * 1000,
        logs,
      );
    } finally {
      a4.child.kill("SIGCONT");
    }
    const { ms } = await pollUntil(
      "peers routing node4's block again",
      () => ["node1", "node2", "node3"].every((n) => c.routeTo(n, b4) !== undefined),
      (TTL + 5) * 1000,
      logs,
    );
    expect(ms).toBeLessThan(TTL * 1000);
    expect(c.blockOf("node4")).toBe(b4);
    await expectRoutes(c, ["node1", "node2", "node3", "node4"]);
    const store = await c.openStore();
    try {
      const { leases } = await listBlockLeases(store);
      expect(leases.filter((l) => l.node === "node4").map((l) => formatPrefix(l.block))).toEqual([b4]);
      expect(await store.get(ipamKey("node4"))).toBeDefined();
    } finally {
      await store.close();
    }
  }, 30_000);

  test("stopping a node and revoking its lease removes its routes from peers at once", async () => {
    const c = cluster();
    const b4 = c.blockOf("node4");
    expect(await c.stopAgent(agent("node4"))).toBe(0);
    const store = await c.openStore();
    try {
      // What an operator does for a node that is gone for good: end its leases now — the
      // liveness lease its record hangs on, and the grace lease holding its blocks.
      const lease = (await store.get(nodeKey("node4")))?.lease;
      expect(lease).toBeDefined();
      const blockKv = (await listBlockLeases(store)).kvs.find((kv) => kv.value.includes('"node":"node4"'));
      expect(blockKv?.lease).toBeDefined();
      expect(blockKv?.lease).not.toBe(lease);
      await store.revoke(lease as string);
      await store.revoke(blockKv?.lease as string);
      const { ms } = await pollUntil(
        "peers dropping node4's routes after the revoke",
        () => ["node1", "node2", "node3"].every((n) => c.routeTo(n, b4) === undefined),
        (TTL - 1) * 1000,
        logs,
      );
      expect(ms).toBeLessThan(2000);
      expect((await listBlockLeases(store)).leases.some((l) => l.node === "node4")).toBe(false);
    } finally {
      await store.close();
    }
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
      () => `${last.join("\n")}\n${logs()}`,
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

  test("an agent whose address plan overlaps an --avoid range or its node network refuses to start", async () => {
    const c = cluster();
    const n4 = c.node("node4");
    const argv = (o: { uplink?: string; extraArgs?: string[] }) =>
      inNetns(n4.netns, c.agentArgv(n4, { backend: "auto", ...o }));
    const avoid = await run(argv({ extraArgs: ["--avoid", "10.244.128.0/17"] }), { timeoutMs: 20_000 });
    expect(avoid.code).toBe(1);
    expect(avoid.stderr).toContain("refusing to start");
    expect(avoid.stderr).toContain("10.244.128.0/17");
    expect(avoid.stderr).toContain(CLUSTER_CIDR);

    // A second uplink whose subnet lies inside the cluster CIDR.
    mustRunSync(["ip", "-n", n4.netns, "link", "add", "ov0", "type", "veth", "peer", "name", "ov1"]);
    mustRunSync(["ip", "-n", n4.netns, "addr", "add", "10.244.77.1/24", "dev", "ov0"]);
    mustRunSync(["ip", "-n", n4.netns, "link", "set", "ov0", "up"]);
    const node = await run(argv({ uplink: "ov0" }), { timeoutMs: 20_000 });
    expect(node.code).toBe(1);
    expect(node.stderr).toContain("refusing to start");
    expect(node.stderr).toContain("10.244.77.0/24");

    const store = await c.openStore();
    try {
      expect(await store.get(nodeKey("node4"))).toBeUndefined();
      const { leases } = await listBlockLeases(store);
      expect(leases.some((l) => l.node === "node4")).toBe(false);
    } finally {
      await store.close();
    }
  });

  test("a pod range added to the running cluster: a node with a block from it is routed by the agents already running", async () => {
    const c = cluster();
    const store = await c.openStore();
    try {
      await extendClusterCidrs(store, "10.250.0.0/16");
    } finally {
      await store.close();
    }
    // node4 asks for a block of the new range first, as a node that held one before would.
    writeFileSync(`${c.node("node4").stateDir}/agent.json`, JSON.stringify({ blocks: ["10.250.7.0/24"] }));
    const a4 = start(c, "node4");
    await c.waitReady(a4, 8000);
    expect(c.blockOf("node4")).toBe("10.250.7.0/24");
    // node1..3 started before the range existed: they must still accept and route the new block.
    await pollUntil(
      "the agents that predate the new range routing node4's block from it",
      () => ["node1", "node2", "node3"].every((n) => c.routeTo(n, "10.250.7.0/24") !== undefined),
      5000,
      logs,
    );
  });
});

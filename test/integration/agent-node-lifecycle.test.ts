/**
 * The node agent with the `auto` backend as nodes come and go: node4 joins the running node1..3,
 * stops, crashes, comes back, is gone past its lease, is frozen past it and is finally revoked;
 * then an agent refuses a plan that overlaps what it must avoid, and a pod range added to the
 * running cluster is routed. Same cluster as agent-routes.test.ts (auto-backend-cluster.ts).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { listBlockLeases } from "../../src/cluster/block-leases.ts";
import { extendClusterCidrs } from "../../src/cluster/cluster-config-store.ts";
import { ipamKey, nodeKey } from "../../src/cluster/keys.ts";
import { formatPrefix } from "../../src/ipnet/prefix.ts";
import { PluginFailedError } from "../../src/lab/cni-runtime.ts";
import { mustRunSync, run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { agentLog, logTail } from "./harness/agent-log.ts";
import { TTL, useAutoBackendCluster } from "./harness/auto-backend-cluster.ts";
import { CLUSTER_CIDR } from "./harness/cluster-agent.ts";
import { rejection } from "./harness/rejection.ts";

const { cluster, agent, start, logs, expectRoutes } = useAutoBackendCluster();

describe("podnet agent, auto backend: nodes joining and leaving", () => {
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
      { detail: logs },
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
      expect(agentLog(a4).some((l) => l.msg === "peer block not routed" && l.fields.peer === "bogus")).toBe(
        true,
      );
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
        { detail: () => logTail(again) },
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
      { detail: logs },
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
        { detail: logs },
      );
    } finally {
      a4.child.kill("SIGCONT");
    }
    const { ms } = await pollUntil(
      "peers routing node4's block again",
      () => ["node1", "node2", "node3"].every((n) => c.routeTo(n, b4) !== undefined),
      (TTL + 5) * 1000,
      { detail: logs },
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
        { detail: logs },
      );
      expect(ms).toBeLessThan(2000);
      expect((await listBlockLeases(store)).leases.some((l) => l.node === "node4")).toBe(false);
    } finally {
      await store.close();
    }
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
      { detail: logs },
    );
  });
});

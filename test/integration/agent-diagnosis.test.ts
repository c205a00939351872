/**
 * The node agent's side of `podnet explain` and `podnet trace`, on a real kernel and a real
 * datastore: two agents (host-gw on lan1) and a pod attached by the plugin on each. The test is
 * the requester: it writes requests under a lease of its own, as the CLI does, and reads the
 * agents' answers. A facts request is answered by both nodes with the pod's address as seen
 * inside its namespace, the peer route and the forwarding sysctls; a trace from node1's pod to
 * node2's is armed on both, probed from inside the source pod, observed on both, and leaves no
 * tracing table behind; a revoked lease removes the tables of an armed trace; an agent that
 * starts sweeps tracing tables a previous run left.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { DiagnosisRequest, TraceSpec } from "../../src/cluster/diagnosis-protocol.ts";
import { diagnosisKey } from "../../src/cluster/diagnosis-protocol.ts";
import {
  parseArmedReport,
  parseNodeFacts,
  parseNodeObservation,
  parseProbeResult,
} from "../../src/cluster/diagnosis-records.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { inNetns, randomSuffix } from "../../src/linux/netns.ts";
import type { Store } from "../../src/store/store.ts";
import { logTail } from "./harness/agent-log.ts";
import type { AgentProcess } from "./harness/cluster-agent.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { ECHO_PORT } from "./harness/echo-pods.ts";
import { type ClusterPod, useTestCluster } from "./harness/test-cluster.ts";

const NODES = ["node1", "node2"] as const;

function newId(): string {
  return `it${randomSuffix(10)}`.toLowerCase().replace(/[^a-z0-9]/g, "0");
}

function request(id: string, o: Partial<DiagnosisRequest>): DiagnosisRequest {
  return {
    id,
    kind: "facts",
    createdAt: new Date().toISOString(),
    requester: "agent-diagnosis integration test",
    nodes: [],
    addresses: [],
    routeLookups: [],
    ...o,
  };
}

/** The tables of the node's namespace, as `nft list tables` prints them. */
function nftTables(netns: string): string[] {
  return mustRunSync(inNetns(netns, ["nft", "list", "tables"]))
    .stdout.trim()
    .split("\n")
    .filter((l) => l !== "");
}

const traceTablesIn = (netns: string) => nftTables(netns).filter((t) => t.includes("podnet-trace-"));

describe("the agent's diagnosis responder", () => {
  const cluster = useTestCluster(2);
  const agents = new Map<string, AgentProcess>();
  const pods = new Map<string, ClusterPod>();
  let store: Store | undefined;
  const s = () => {
    if (!store) throw new Error("the store is not open (the first test failed)");
    return store;
  };
  const logs = () => [...agents.values()].map((a) => `${a.node.name}:\n${logTail(a, 15)}`).join("\n");
  const answer = async (key: string, timeoutMs = 10_000) =>
    (await pollUntil(key, async () => (await s().get(key))?.value, timeoutMs, { detail: logs })).value;

  afterAll(async () => {
    await store?.close();
  });

  test("two agents start and a pod is attached on each", async () => {
    const c = cluster();
    for (const node of NODES) agents.set(node, c.startAgent(node, { backend: "host-gw" }));
    for (const agent of agents.values()) await c.waitReady(agent);
    for (const node of NODES)
      pods.set(node, await c.addPod(node, { name: `${node}-a`, labels: { app: "echo" } }));
    store = await c.openStore();
  });

  test("a facts request is answered by both nodes: the pod inside its namespace, the peer route, sysctls", async () => {
    const c = cluster();
    const pod1 = pods.get("node1");
    if (!pod1) throw new Error("no pod on node1");
    const id = newId();
    const lease = await s().grantLease(10);
    try {
      const block1 = c.blockOf("node1");
      await s().put(
        diagnosisKey(id, "request"),
        JSON.stringify(request(id, { addresses: [pod1.ip], routeLookups: [{ dst: pod1.ip }] })),
        { lease: lease.id },
      );
      const facts = new Map(
        await Promise.all(
          NODES.map(async (node) => {
            const key = diagnosisKey(id, "facts", node);
            return [node, parseNodeFacts(key, await answer(key))] as const;
          }),
        ),
      );
      expect((await s().get(diagnosisKey(id, "facts", "node1")))?.lease).toBe(lease.id);
      const f1 = facts.get("node1");
      const f2 = facts.get("node2");
      if (!f1 || !f2) throw new Error("missing facts");
      expect(f1.errors.filter((e) => !e.startsWith("conntrack"))).toEqual([]);
      const pod = f1.pods.find((p) => p.name === "node1-a");
      expect(pod).toMatchObject({
        namespace: "default",
        ips: [pod1.ip],
        netns: pod1.netnsPath,
        ifname: "eth0",
      });
      expect(pod?.inside?.addresses.map((a) => a.split("/")[0])).toContain(pod1.ip);
      expect(pod?.hostVeth).toBeDefined();
      expect(f1.allocations.map((a) => a.ip)).toContain(pod1.ip);
      // node2 routes node1's block directly to node1 (host-gw, one segment).
      const peer = f2.routes.find((r) => r.dst === block1);
      expect(peer?.via).toBe(addressOf(c.node("node1")));
      expect(f2.routeLookups[0]?.route?.via).toBe(addressOf(c.node("node1")));
      for (const f of [f1, f2]) expect(f.sysctls["net.ipv4.ip_forward"]).toBe("1");
      expect(f1.agent.blocks).toEqual([block1]);
    } finally {
      await s().revoke(lease.id);
    }
  });

  test("a trace pod → pod: armed on both, probed from the pod, observed on both, no table left", async () => {
    const c = cluster();
    const src = pods.get("node1");
    const dst = pods.get("node2");
    if (!src || !dst) throw new Error("missing pods");
    const id = newId();
    const sourcePort = 40_000 + Math.floor(Math.random() * 20_000);
    const spec: TraceSpec = {
      proto: "tcp",
      source: { kind: "pod", node: "node1", namespace: "default", name: src.name },
      destination: { ip: dst.ip, port: ECHO_PORT },
      sourcePort,
      match: { pairs: [[src.ip, dst.ip]], ports: [sourcePort, ECHO_PORT] },
      vxlanPeers: [],
      probeTimeoutMs: 3000,
    };
    const lease = await s().grantLease(10);
    const keepAlive = setInterval(
      () =>
        void s()
          .keepAlive(lease.id)
          .catch(() => {}),
      2000,
    );
    try {
      await s().put(
        diagnosisKey(id, "request"),
        JSON.stringify(
          request(id, { kind: "trace", nodes: [...NODES], addresses: [src.ip, dst.ip], trace: spec }),
        ),
        { lease: lease.id },
      );
      for (const node of NODES) {
        const key = diagnosisKey(id, "armed", node);
        expect(parseArmedReport(key, await answer(key))).toEqual({ node, table: `inet podnet-trace-${id}` });
        expect(traceTablesIn(c.node(node).netns)).toEqual([`table inet podnet-trace-${id}`]);
      }
      await s().put(diagnosisKey(id, "go"), JSON.stringify({ at: new Date().toISOString() }), {
        lease: lease.id,
      });
      const probe = parseProbeResult(diagnosisKey(id, "probe"), await answer(diagnosisKey(id, "probe")));
      expect(probe).toMatchObject({
        outcome: "answered",
        localIp: src.ip,
        localPort: sourcePort,
        replyFrom: dst.ip,
      });
      expect(probe.echo).toEqual({ pod: dst.name, ip: dst.ip, from: src.ip, fromPort: sourcePort });
      for (const node of NODES) {
        const key = diagnosisKey(id, "observed", node);
        const observed = parseNodeObservation(key, await answer(key));
        const flow = observed.events.filter(
          (e) => (e.saddr === src.ip && e.daddr === dst.ip) || (e.saddr === dst.ip && e.daddr === src.ip),
        );
        expect(flow.length).toBeGreaterThan(0);
        // Both directions were traced: the SYN and the answer.
        expect(flow.some((e) => e.saddr === src.ip)).toBe(true);
        expect(flow.some((e) => e.saddr === dst.ip)).toBe(true);
        expect(
          observed.conntrack.some((ct) => ct.original.src === src.ip && ct.original.dst === dst.ip),
        ).toBe(true);
        expect(observed.sysctls["net.ipv4.ip_forward"]).toBe("1");
        expect(observed.errors).toEqual([]);
      }
      for (const node of NODES)
        await pollUntil(
          `no trace table in ${node}`,
          () => traceTablesIn(c.node(node).netns).length === 0,
          5000,
          {
            detail: logs,
          },
        );
    } finally {
      clearInterval(keepAlive);
      await s().revoke(lease.id);
    }
  });

  test("a trace whose lease is revoked right after arming leaves no table", async () => {
    const c = cluster();
    const src = pods.get("node1");
    const dst = pods.get("node2");
    if (!src || !dst) throw new Error("missing pods");
    const id = newId();
    const lease = await s().grantLease(10);
    const spec: TraceSpec = {
      proto: "icmp",
      source: { kind: "node", node: "node1" },
      destination: { ip: dst.ip },
      match: { pairs: [[addressOf(c.node("node1")), dst.ip]], ports: [] },
      vxlanPeers: [],
      probeTimeoutMs: 1000,
    };
    await s().put(
      diagnosisKey(id, "request"),
      JSON.stringify(request(id, { kind: "trace", nodes: [...NODES], trace: spec })),
      { lease: lease.id },
    );
    for (const node of NODES) await answer(diagnosisKey(id, "armed", node));
    expect(traceTablesIn(c.node("node1").netns)).toHaveLength(1);
    await s().revoke(lease.id);
    for (const node of NODES)
      await pollUntil(
        `the trace table of ${node} to go`,
        () => traceTablesIn(c.node(node).netns).length === 0,
        5000,
        {
          detail: logs,
        },
      );
  });

  test("an agent that starts removes a tracing table left behind", async () => {
    const c = cluster();
    const node = c.node("node2");
    const planted = "podnet-trace-planted01";
    const agent = agents.get("node2");
    if (!agent) throw new Error("no agent on node2");
    expect(await c.stopAgent(agent)).toBe(0);
    mustRunSync(inNetns(node.netns, ["nft", "add", "table", "inet", planted]));
    expect(traceTablesIn(node.netns)).toEqual([`table inet ${planted}`]);
    const again = c.startAgent("node2", { backend: "host-gw" });
    agents.set("node2", again);
    await pollUntil("the planted table to go", () => traceTablesIn(node.netns).length === 0, 15_000, {
      detail: () => logTail(again),
    });
    await c.waitReady(again);
  });
});

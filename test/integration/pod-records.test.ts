/**
 * Pods become Service endpoint candidates end to end, on a real kernel and a real datastore: the
 * plugin records each pod it attaches in the node state (pod name and namespace from CNI_ARGS,
 * labels from args.cni.labels) and pokes the node agent, which publishes the record under the
 * node's lease at once; DEL takes it away; a pod the plugin refuses leaves nothing anywhere. The
 * agents run with a 30 s resync, so only the poke can explain a record that shows up in a second.
 */
import { describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import { nodeKey } from "../../src/cluster/keys.ts";
import { listPodRecords, PODS_PREFIX, putPodRecord } from "../../src/cluster/pod-records.ts";
import type { PodRecord } from "../../src/k8s/service-model.ts";
import { NodeState } from "../../src/node-state/node-state.ts";
import type { Store } from "../../src/store/store.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { logTail } from "./harness/agent-log.ts";
import { type AgentProcess, NETWORK } from "./harness/cluster-agent.ts";
import { linkIn, podnetVeths } from "./harness/kernel-state.ts";
import { type ClusterPod, useTestCluster } from "./harness/test-cluster.ts";
import { cniFailure } from "./harness/test-node.ts";

const NODE = "node1";
const RESYNC = 30;

describe("pod records published by the node agent", () => {
  const cluster = useTestCluster(1);
  let agent: AgentProcess;
  const pods: ClusterPod[] = [];
  const web = () => {
    const p = pods[0];
    if (!p) throw new Error("web-1 was not attached (an earlier test failed)");
    return p;
  };

  const withStore = async <T>(fn: (s: Store) => Promise<T>): Promise<T> => {
    const s = await cluster().openStore();
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  };
  const records = () => withStore(async (s) => (await listPodRecords(s, NODE)).pods);
  const recordOf = async (name: string) => (await records()).find((p) => p.name === name);
  /** The node's own lease, from its node record. */
  const nodeLease = () => withStore(async (s) => (await s.get(nodeKey(NODE)))?.lease);
  const recordLeases = () =>
    withStore(async (s) => (await s.list(`${PODS_PREFIX}${NODE}/`)).kvs.map((kv) => kv.lease));
  const localState = <T>(fn: (state: NodeState) => T): T => {
    const state = NodeState.open(cluster().node(NODE).stateDir);
    try {
      return fn(state);
    } finally {
      state.close();
    }
  };
  const del = (pod: ClusterPod) =>
    cluster().runtime(NODE).del({ containerId: pod.containerId, ifname: "eth0", netnsPath: pod.netnsPath });

  test("a record left from before the agent started goes; other nodes' records stay", async () => {
    const c = cluster();
    const ghost: PodRecord = {
      namespace: "default",
      name: "ghost",
      node: NODE,
      ips: ["10.244.200.9"],
      labels: {},
    };
    const elsewhere: PodRecord = { ...ghost, name: "db", node: "node9", ips: ["10.244.201.2"] };
    await withStore(async (s) => {
      await putPodRecord(s, ghost);
      await putPodRecord(s, elsewhere);
    });
    agent = c.startAgent(NODE, { backend: "host-gw", resync: RESYNC });
    await c.waitReady(agent);
    await pollUntil("the ghost record to go", async () => (await records()).length === 0, 5000, {
      detail: () => logTail(agent),
    });
    expect(await withStore(async (s) => (await listPodRecords(s, "node9")).pods)).toEqual([elsewhere]);
  });

  test("ADD with K8S args and labels: the pod's record appears under the node's lease within a second", async () => {
    const c = cluster();
    const started = Date.now();
    pods.push(await c.addPod(NODE, { name: "web-1", labels: { app: "web", "example.com/tier": "front" } }));
    const addMs = Date.now() - started;
    const { value: record, ms } = await pollUntil("the pod's record", () => recordOf("web-1"), 5000, {
      detail: () => logTail(agent),
    });
    expect(record).toEqual({
      namespace: "default",
      name: "web-1",
      node: NODE,
      ips: [web().ip],
      labels: { app: "web", "example.com/tier": "front" },
    });
    expect(ms).toBeLessThan(1000);
    expect(addMs + ms).toBeLessThan(RESYNC * 1000);
    const lease = await nodeLease();
    expect(lease).toBeDefined();
    expect(await recordLeases()).toEqual([lease]);
    // The local row the record came from.
    const rows = localState((s) => s.listPods(NETWORK).rows);
    expect(rows.map((r) => [r.containerId, r.ifname, r.namespace, r.name, r.ips])).toEqual([
      [web().containerId, "eth0", "default", "web-1", [web().ip]],
    ]);
    expect(metricValue(await c.metrics(NODE), "podnet_agent_pod_records")).toBe(1);
  });

  test("a second pod gets its own record; DEL removes exactly its record, repeated DEL changes nothing", async () => {
    const c = cluster();
    const db = await c.addPod(NODE, { name: "db-1", labels: { app: "db" } });
    pods.push(db);
    await pollUntil("both records", async () => (await records()).length === 2, 5000, {
      detail: () => logTail(agent),
    });
    await del(db);
    const { ms } = await pollUntil(
      "the deleted pod's record to go",
      async () => (await records()).map((p) => p.name).join() === "web-1",
      5000,
      { detail: () => logTail(agent) },
    );
    expect(ms).toBeLessThan(1000);
    await del(db);
    expect(localState((s) => s.listPods(NETWORK).rows.map((r) => r.containerId))).toEqual([
      web().containerId,
    ]);
    await Bun.sleep(300);
    expect((await records()).map((p) => p.name)).toEqual(["web-1"]);
  });

  test.each([
    [
      "bad labels",
      { name: "bad-labels", labels: { "bad key": "x" } },
      7,
      'args.cni.labels[0].key" "bad key"',
    ],
    ["a bad K8S_POD_NAME", { name: "-bad-name", labels: { app: "web" } }, 4, 'K8S_POD_NAME "-bad-name"'],
  ])(
    "a pod with %s is refused with its CNI code and leaves no address, interface, row or record",
    async (_what, options, code, msg) => {
      const c = cluster();
      const vethsBefore = podnetVeths(c.node(NODE).netns).map((l) => l.ifname);
      const allocationsBefore = localState((s) => s.list(NETWORK).length);
      const failure = await cniFailure(c.addPod(NODE, options));
      expect(failure.code).toBe(code);
      expect(failure.msg).toContain(msg);
      const containerId = `${c.prefix}-${options.name}`;
      expect(linkIn(`${c.prefix}-${options.name}`, "eth0")).toBeUndefined();
      expect(podnetVeths(c.node(NODE).netns).map((l) => l.ifname)).toEqual(vethsBefore);
      expect(localState((s) => s.list(NETWORK).length)).toBe(allocationsBefore);
      expect(localState((s) => s.list(NETWORK).filter((a) => a.containerId === containerId))).toEqual([]);
      expect(
        localState((s) => s.listPods(NETWORK).rows.filter((r) => r.containerId === containerId)),
      ).toEqual([]);
      expect((await records()).map((p) => p.name)).toEqual(["web-1"]);
    },
  );

  test("after a restart the agent moves records onto its new lease and drops pods deleted meanwhile", async () => {
    const c = cluster();
    const late = await c.addPod(NODE, { name: "late-1", labels: { app: "web" } });
    // IPAM hands addresses out round robin: had a refused pod been given one (and had it taken
    // back), this pod would not get the address right after the last pod's.
    const last = pods[1]?.ip.split(".").map(Number) ?? [];
    expect(late.ip).toBe([...last.slice(0, 3), (last[3] ?? 0) + 1].join("."));
    await pollUntil("the late pod's record", () => recordOf("late-1"), 5000, {
      detail: () => logTail(agent),
    });
    const oldLease = await nodeLease();
    expect(await c.stopAgent(agent)).toBe(0);
    // DEL while no agent runs: the plugin's poke finds nobody, and the DEL still succeeds.
    await del(late);
    agent = c.startAgent(NODE, { backend: "host-gw", resync: RESYNC });
    await c.waitReady(agent);
    const newLease = await nodeLease();
    expect(newLease).not.toBe(oldLease);
    await pollUntil(
      "only web-1, on the new lease",
      async () =>
        (await records()).map((p) => p.name).join() === "web-1" &&
        (await recordLeases()).every((l) => l === newLease),
      5000,
      { detail: () => logTail(agent) },
    );
    // The record is the live pod's, with its address.
    expect((await recordOf("web-1"))?.ips).toEqual([web().ip]);
  });
});

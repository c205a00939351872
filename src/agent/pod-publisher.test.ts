import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { useTempStores } from "../../test/support/temp-store.ts";
import { pollUntil } from "../base/poll-until.ts";
import { listPodRecords, PODS_PREFIX, putPodRecord } from "../cluster/pod-records.ts";
import type { Logger } from "../daemon/log.ts";
import { Metrics } from "../daemon/metrics.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import { NodeState, pokeAgent } from "../node-state/node-state.ts";
import type { Store } from "../store/store.ts";
import { PodPublisher } from "./pod-publisher.ts";

const store = useTempStores("podnet-pod-publisher");
const NETWORK = "podnet";
const sets = buildRangeSets([[{ subnet: "10.244.1.0/24" }]]);
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  readonly s: Store;
  readonly dir: string;
  readonly lease: { id: string };
  readonly metrics: Metrics;
  readonly logs: { level: string; msg: string; fields?: Record<string, unknown> }[];
  readonly publisher: PodPublisher;
  /** Allocates an attachment of `name` in the node state (as the plugin's ADD does). */
  add(containerId: string, name: string, labels?: Record<string, string>): void;
  del(containerId: string): void;
}

async function setup(resyncSeconds = 3600): Promise<Setup> {
  const s = await store();
  const dir = mkdtempSync(`${tmpdir()}/podnet-pod-publisher-state-`);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const lease = { id: (await s.grantLease(60)).id };
  const metrics = new Metrics({ processMetrics: false });
  const logs: Setup["logs"] = [];
  const log: Logger = {
    debug: () => undefined,
    info: (msg, fields) => logs.push({ level: "info", msg, fields }),
    warn: (msg, fields) => logs.push({ level: "warn", msg, fields }),
    error: (msg, fields) => logs.push({ level: "error", msg, fields }),
  };
  const options = { nodeName: "node-1", cniNetwork: NETWORK, stateDir: dir, resyncSeconds };
  const publisher = new PodPublisher(s, options, () => lease.id, log, metrics);
  cleanups.push(() => publisher.stop());
  const state = NodeState.open(dir);
  cleanups.push(() => state.close());
  return {
    s,
    dir,
    lease,
    metrics,
    logs,
    publisher,
    add: (containerId, name, labels = { app: "web" }) => {
      state.allocate({ network: NETWORK, containerId, ifname: "eth0" }, sets, [], {
        namespace: "default",
        name,
        labels,
      });
    },
    del: (containerId) => {
      state.release({ network: NETWORK, containerId, ifname: "eth0" });
    },
  };
}

/** Polls until `check` holds; returns how long it took. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 3000): Promise<number> {
  return (await pollUntil(what, check, timeoutMs, { intervalMs: 5 })).ms;
}

const names = async (s: Store) =>
  (await listPodRecords(s, "node-1")).pods.map((p) => `${p.namespace}/${p.name}=${p.ips.join(",")}`);

describe("PodPublisher", () => {
  test("on start publishes the node's pods on its lease and removes records it does not know", async () => {
    const t = await setup();
    t.add("c1", "web-1");
    // Left by an earlier run of the agent, and a record of another node that is not ours to touch.
    await putPodRecord(t.s, {
      namespace: "default",
      name: "ghost",
      node: "node-1",
      ips: ["10.244.1.99"],
      labels: {},
    });
    const other = { namespace: "default", name: "db", node: "node-2", ips: ["10.244.2.2"], labels: {} };
    await putPodRecord(t.s, other);
    t.publisher.start();
    await until("the pod published and the ghost gone", async () => {
      const n = await names(t.s);
      return n.length === 1 && n[0] === "default/web-1=10.244.1.2";
    });
    const kv = await t.s.get(`${PODS_PREFIX}node-1/default/web-1`);
    expect(kv?.lease).toBe(t.lease.id);
    expect(JSON.parse(kv?.value ?? "")).toEqual({
      namespace: "default",
      name: "web-1",
      node: "node-1",
      ips: ["10.244.1.2"],
      labels: { app: "web" },
    });
    expect((await listPodRecords(t.s, "node-2")).pods).toEqual([other]);
    expect(await t.metrics.render()).toContain("podnet_agent_pod_records 1\n");
    expect(await t.metrics.render()).toContain('podnet_agent_pod_record_writes_total{op="delete"} 1\n');
  });

  test("a poke from the plugin publishes an ADD and a DEL at once, without waiting for the resync", async () => {
    const t = await setup(3600);
    t.publisher.start();
    await until("the first sync", async () =>
      (await t.metrics.render()).includes("podnet_agent_pod_records 0"),
    );
    t.add("c1", "web-1");
    pokeAgent(t.dir);
    const addMs = await until("the new pod", async () => (await names(t.s)).length === 1);
    t.del("c1");
    pokeAgent(t.dir);
    const delMs = await until("the deleted pod to go", async () => (await names(t.s)).length === 0);
    // The watch reacts within milliseconds; a second leaves room for a loaded machine.
    expect(addMs).toBeLessThan(1000);
    expect(delMs).toBeLessThan(1000);
  });

  test("without a poke the periodic sync publishes the change", async () => {
    const t = await setup(1);
    t.publisher.start();
    await until("the first sync", async () =>
      (await t.metrics.render()).includes("podnet_agent_pod_records 0"),
    );
    t.add("c1", "web-1");
    await until("the periodic sync", async () => (await names(t.s)).length === 1, 3000);
  });

  test("after the lease is taken again every record moves onto the new lease", async () => {
    const t = await setup();
    t.add("c1", "web-1");
    t.add("c2", "web-2");
    t.publisher.start();
    await until("both pods", async () => (await names(t.s)).length === 2);
    await t.s.revoke(t.lease.id);
    expect(await names(t.s)).toEqual([]);
    t.lease.id = (await t.s.grantLease(60)).id;
    t.publisher.requestSync("lease re-acquired");
    await until("both pods again", async () => (await names(t.s)).length === 2);
    const { kvs } = await t.s.list(`${PODS_PREFIX}node-1/`);
    expect(kvs.map((kv) => kv.lease)).toEqual([t.lease.id, t.lease.id]);
  });

  test("a failed write is logged, counted and retried", async () => {
    const t = await setup();
    t.add("c1", "web-1");
    const good = t.lease.id;
    t.lease.id = "12345"; // a lease the datastore does not know: every put fails
    t.publisher.start();
    await until("a counted failure", async () =>
      (await t.metrics.render()).includes('podnet_agent_pod_publish_errors_total{kind="sync"} 1'),
    );
    expect(t.logs.some((l) => l.level === "error" && l.msg.startsWith("publishing pod records failed"))).toBe(
      true,
    );
    t.lease.id = good;
    await until("the retry to publish", async () => (await names(t.s)).length === 1);
  });

  test("readiness set by the agent is published with the pod's record at once, and cleared again", async () => {
    const t = await setup(3600);
    t.add("c1", "web-1");
    t.add("c2", "web-2");
    t.publisher.start();
    const readiness = async () =>
      (await listPodRecords(t.s, "node-1")).pods.map((p) => `${p.name}:${p.ready ?? "-"}`);
    await until("both pods", async () => (await readiness()).length === 2);
    expect(await readiness()).toEqual(["web-1:-", "web-2:-"]);
    t.publisher.setPodReadiness({ namespace: "default", name: "web-2" }, false);
    await until("web-2 not ready", async () => (await readiness())[1] === "web-2:false");
    expect((await readiness())[0]).toBe("web-1:-");
    t.publisher.setPodReadiness({ namespace: "default", name: "web-2" }, undefined);
    await until("web-2 ready again", async () => (await readiness())[1] === "web-2:-");
    // Two flips, two puts of the one record (and the two first puts): nothing else was written.
    expect(await t.metrics.render()).toContain('podnet_agent_pod_record_writes_total{op="put"} 4\n');
  });

  test("after stop nothing is published any more", async () => {
    const t = await setup();
    t.publisher.start();
    await until("the first sync", async () =>
      (await t.metrics.render()).includes("podnet_agent_pod_records 0"),
    );
    await t.publisher.stop();
    t.add("c1", "web-1");
    pokeAgent(t.dir);
    await Bun.sleep(300);
    expect(await names(t.s)).toEqual([]);
  });
});

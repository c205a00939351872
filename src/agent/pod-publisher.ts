/**
 * Publishes the pods attached on this node as Service endpoint candidates: keeps
 * `/podnet/pods/NODE/...` in the datastore equal to the plugin's pod rows (the agent only reads
 * them), every record on the node's lease so the records die with the node. The
 * plugin pokes a file in the state directory after each change (agent-poke.ts); a watch on the
 * directory turns that into a sync at once, and a periodic sync repairs anything missed (a lost
 * poke, a write that failed, records changed by hand). Syncs coalesce: one runs, one waits.
 *
 * Each record carries its pod's readiness as the agent last set it (setPodReadiness): a pod
 * marked not ready is published with `ready: false`, and the proxies and DNS drop its addresses.
 * A pod whose row declares a check is published not ready until the checks said otherwise for
 * that very attachment (podReady), whichever of the two reads the new row first.
 */
import { type FSWatcher, watch } from "node:fs";
import { PODS_PREFIX, putPodRecord } from "../cluster/pod-records.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { SyncLoop } from "../daemon/sync-loop.ts";
import { Timers } from "../daemon/timers.ts";
import { NodeState, POD_POKE_FILE, type PodRow } from "../node-state/node-state.ts";
import type { Store } from "../store/store.ts";
import { type AttachedReadiness, desiredPodRecords, planPodSync } from "./pod-sync-plan.ts";

/** The agent's options this needs (AgentOptions has them under these names). */
export interface PodPublisherOptions {
  readonly nodeName: string;
  /** The CNI network whose pods are published (other networks on the node are not routed). */
  readonly cniNetwork: string;
  /** The plugin's data dir: its state database and the poke file. */
  readonly stateDir: string;
  /** Period of the full sync that repairs whatever a poke did not. */
  readonly resyncSeconds: number;
}

const FIRST_RETRY_MS = 200;
/** Pokes within this long of the first are published by one sync. */
const POKE_COALESCE_MS = 100;

function publisherMetrics(metrics: Metrics) {
  const m = {
    records: metrics.gauge("podnet_agent_pod_records", "Pod records this node publishes."),
    writes: metrics.counter(
      "podnet_agent_pod_record_writes_total",
      "Pod record writes to the datastore (op: put, delete).",
      ["op"],
    ),
    errors: metrics.counter(
      "podnet_agent_pod_publish_errors_total",
      "Failed pod record syncs and state directory watches (kind: sync, watch).",
      ["kind"],
    ),
  };
  // Series exist from the first scrape, so rate() and alerts on them work before any event.
  for (const kind of ["sync", "watch"]) m.errors.inc({ kind }, 0);
  for (const op of ["put", "delete"]) m.writes.inc({ op }, 0);
  return m;
}

export class PodPublisher {
  private readonly m: ReturnType<typeof publisherMetrics>;
  private readonly loop: SyncLoop;
  private readonly timers = new Timers();
  private watcher: FSWatcher | undefined;
  private stopped = false;
  /** Problems already logged, so a bad row is reported once, not on every sync. */
  private reported = new Set<string>();
  /** Readiness by "namespace/name"; a pod not here is published as its rows say (podReady). */
  private readonly readiness = new Map<string, boolean | AttachedReadiness>();

  constructor(
    private readonly store: Store,
    private readonly o: PodPublisherOptions,
    /** The node's current lease (it changes when the agent registers again after losing it). */
    private readonly leaseId: () => string,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.m = publisherMetrics(metrics);
    this.loop = new SyncLoop({
      sync: (reason) => this.publish(reason),
      failed: (error, reason, retryInMs) => {
        this.m.errors.inc({ kind: "sync" });
        this.log.error("publishing pod records failed; retrying", { reason, error, retryInMs });
      },
      firstRetryMs: FIRST_RETRY_MS,
      maxRetryMs: o.resyncSeconds * 1000,
      // Every ADD and DEL pokes: one sync per burst, not per pod. A sync per pod cost the agent a
      // third more CPU per operation while it served the plugin's (bench/cni).
      coalesceMs: POKE_COALESCE_MS,
    });
  }

  start(): void {
    this.watchStateDir();
    this.timers.every(this.o.resyncSeconds * 1000, () => {
      this.watchStateDir();
      this.requestSync("periodic resync");
    });
    this.requestSync("start");
  }

  /** Many requests coalesce into one sync: at most one runs and one waits. */
  requestSync(reason: string): void {
    this.loop.request(reason);
  }

  /**
   * Sets whether a pod of this node is ready: for the `attachment` whose check ran
   * (readinessAttachment), or without one for the pod whatever its attachment. Undefined forgets
   * it: the pod is then published ready if it declares no check, not ready if it does. A change
   * is published by the next sync, requested at once; setting what is already set does nothing.
   * A later pod of the same name is another attachment, so it does not inherit the state.
   */
  setPodReadiness(
    pod: { readonly namespace: string; readonly name: string; readonly attachment?: string },
    ready: boolean | undefined,
  ): void {
    const key = `${pod.namespace}/${pod.name}`;
    const value =
      ready === undefined || pod.attachment === undefined ? ready : { ready, attachment: pod.attachment };
    const had = this.readiness.get(key);
    const same =
      typeof had === "object" && typeof value === "object"
        ? had.ready === value.ready && had.attachment === value.attachment
        : had === value;
    if (same) return;
    if (value === undefined) this.readiness.delete(key);
    else this.readiness.set(key, value);
    this.requestSync("readiness changed");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.clear();
    this.watcher?.close();
    this.watcher = undefined;
    // The datastore is closed after the agent stops: no write may still be on its way.
    await this.loop.stop();
  }

  private watchStateDir(): void {
    if (this.watcher || this.stopped) return;
    try {
      this.watcher = watch(this.o.stateDir, (_event, file) => {
        if (file !== null && String(file) === POD_POKE_FILE) this.requestSync("pods changed");
      });
      this.watcher.on("error", (e) => this.watchFailed(e));
    } catch (e) {
      this.watchFailed(e as Error);
    }
  }

  private watchFailed(e: Error): void {
    this.m.errors.inc({ kind: "watch" });
    this.log.error("cannot watch the state directory; the periodic sync publishes pods until it works", {
      dir: this.o.stateDir,
      error: e,
    });
    this.watcher?.close();
    this.watcher = undefined;
  }

  private readRows(): { rows: PodRow[]; problems: string[] } {
    const state = NodeState.open(this.o.stateDir);
    try {
      // When each row was written tells a pod from a later one of the same name (podReady).
      return state.listPods(this.o.cniNetwork, { withRecordedAt: true });
    } finally {
      state.close();
    }
  }

  private async publish(reason: string): Promise<void> {
    const { store } = this;
    const { nodeName } = this.o;
    const rows = this.readRows();
    const desired = desiredPodRecords(nodeName, rows.rows, new Map(this.readiness));
    this.report([...rows.problems, ...desired.problems]);
    // Read right before the writes: a lease taken again meanwhile moves every record onto it.
    const leaseId = this.leaseId();
    const { kvs } = await store.list(`${PODS_PREFIX}${nodeName}/`);
    const plan = planPodSync(desired.records, kvs, leaseId);
    for (const record of plan.puts) {
      await putPodRecord(store, record, leaseId);
      this.m.writes.inc({ op: "put" });
    }
    for (const key of plan.deletes) {
      await store.delete(key);
      this.m.writes.inc({ op: "delete" });
    }
    this.m.records.set(desired.records.length);
    if (plan.puts.length > 0 || plan.deletes.length > 0)
      this.log.info("pod records published", {
        reason,
        put: plan.puts.map((r) => `${r.namespace}/${r.name}`),
        deleted: plan.deletes.map((k) => k.slice(PODS_PREFIX.length)),
      });
  }

  private report(problems: readonly string[]): void {
    for (const p of problems)
      if (!this.reported.has(p)) this.log.warn("pod row not published as it is", { problem: p });
    this.reported = new Set(problems);
  }
}

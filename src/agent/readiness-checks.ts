/**
 * Runs the readiness checks of this node's pods, as kubelet's prober does, and hands each pod's
 * readiness to whoever publishes the records (PodPublisher.setPodReadiness): a pod that declared a
 * check (`args.podnet.readiness`, stored with its pod row) is published `ready: false` from the
 * moment it is seen until a check succeeds, then as the thresholds say (readiness-state.ts); only
 * a change is handed on, so a flapping pod rewrites its own record only.
 *
 * The pods come from the node state, read again when the plugin pokes the state directory and
 * every resync period (the publisher publishes a checked pod not ready until this said otherwise
 * for that attachment, so neither has to win a race). Checks run from the node's namespace to the
 * pod's first address, each bounded by its timeout (at most a minute). At most `maxConcurrent`
 * start at once; one not done after `slotHoldMs` gives its slot up, so pods that never answer do
 * not hold back the others' checks. A pod is its attachment (container, interface, when written):
 * one deleted is forgotten (undefined), one created again under the same name, address and check
 * starts over, not ready. At agent start a pod keeps the readiness its record carries until its
 * thresholds say otherwise, so a restart does not take every checked pod out of its Services.
 */
import { type FSWatcher, watch } from "node:fs";
import { errorText } from "../base/error-text.ts";
import { listPodRecords } from "../cluster/pod-records.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import {
  describeReadinessCheck,
  NodeState,
  POD_POKE_FILE,
  type PodRow,
  type ReadinessAction,
  sameReadinessCheck,
} from "../node-state/node-state.ts";
import type { Store } from "../store/store.ts";
import { type ProbeOutcome, probePod, probeWithin } from "./pod-probe.ts";
import { ReadinessLimit } from "./readiness-limit.ts";
import { type ReadinessMetrics, readinessMetrics } from "./readiness-metrics.ts";
import { type CheckedPod, checkedPods } from "./readiness-pods.ts";
import {
  firstCheckDelayMs,
  INITIAL_READINESS,
  nextCheckDelayMs,
  nextReadiness,
  type ReadinessState,
} from "./readiness-state.ts";

export interface ReadinessChecksOptions {
  readonly nodeName: string;
  readonly cniNetwork: string;
  readonly stateDir: string;
  /** Period of the re-read of the pod rows that repairs a missed poke. */
  readonly resyncSeconds: number;
  /** Checks starting at once at most (default 16). */
  readonly maxConcurrent?: number;
  /** How long a check holds its slot at most; after that it runs on without one (default 100 ms). */
  readonly slotHoldMs?: number;
}

export interface ReadinessChecksDeps {
  /** Where readiness goes: PodPublisher.setPodReadiness (for the pod's checked attachment). */
  readonly setReadiness: (
    pod: { namespace: string; name: string; attachment: string },
    ready: boolean | undefined,
  ) => void;
  /** The datastore, read once at start for the readiness the records already carry. */
  readonly store: Store;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** One check (tests replace it); probePod by default. */
  readonly probe?: (ip: string, action: ReadinessAction, timeoutMs: number) => Promise<ProbeOutcome>;
}

interface Worker {
  readonly pod: CheckedPod;
  state: ReadinessState;
  timer: ReturnType<typeof setTimeout> | undefined;
  stopped: boolean;
}

const DEFAULT_CONCURRENCY = 16;
const DEFAULT_SLOT_HOLD_MS = 100;

export class ReadinessChecks {
  private readonly m: ReadinessMetrics;
  private readonly workers = new Map<string, Worker>();
  private readonly probe: NonNullable<ReadinessChecksDeps["probe"]>;
  private readonly limit: ReadinessLimit;
  private watcher: FSWatcher | undefined;
  private interval: ReturnType<typeof setInterval> | undefined;
  private refreshQueued = false;
  private stopped = false;
  /** Readiness the stored records carried at start, for the pods found then. */
  private startedWith: ReadonlyMap<string, boolean> | undefined = new Map();
  private reported = new Set<string>();

  constructor(
    private readonly o: ReadinessChecksOptions,
    private readonly d: ReadinessChecksDeps,
  ) {
    this.m = readinessMetrics(d.metrics);
    this.probe = d.probe ?? probePod;
    this.limit = new ReadinessLimit(o.maxConcurrent ?? DEFAULT_CONCURRENCY);
  }

  /** Reads what the records say, then the pods; resolves once every checked pod has its state set. */
  async start(): Promise<void> {
    this.startedWith = await this.storedReadiness();
    if (this.stopped) return;
    this.watchStateDir();
    this.refresh("start");
    this.startedWith = undefined;
    this.interval = setInterval(() => {
      this.watchStateDir();
      this.refresh("periodic resync");
    }, this.o.resyncSeconds * 1000);
  }

  /** Re-reads the pod rows soon (many requests in one tick are one read). */
  requestRefresh(reason: string): void {
    if (this.refreshQueued || this.stopped) return;
    this.refreshQueued = true;
    queueMicrotask(() => {
      this.refreshQueued = false;
      this.refresh(reason);
    });
  }

  /** Stops every check; a check under way finishes, but its result is not used. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.interval);
    this.watcher?.close();
    this.watcher = undefined;
    for (const w of this.workers.values()) this.retire(w);
    this.workers.clear();
    this.limit.clear();
  }

  /** Pods checked now and whether each is ready (for diagnosis and tests). */
  get states(): ReadonlyMap<string, boolean> {
    return new Map([...this.workers].map(([key, w]) => [key, w.state.ready]));
  }

  private async storedReadiness(): Promise<ReadonlyMap<string, boolean>> {
    try {
      const { pods } = await listPodRecords(this.d.store, this.o.nodeName);
      return new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p.ready !== false]));
    } catch (e) {
      // Not fatal: the pods start unready, as they would on a new node.
      this.d.log.warn("cannot read this node's pod records; checked pods start not ready", {
        error: errorText(e),
      });
      return new Map();
    }
  }

  private watchStateDir(): void {
    if (this.watcher || this.stopped) return;
    try {
      this.watcher = watch(this.o.stateDir, (_event, file) => {
        if (file !== null && String(file) === POD_POKE_FILE) this.requestRefresh("pods changed");
      });
      this.watcher.on("error", (e) => this.watchFailed(e));
    } catch (e) {
      this.watchFailed(e as Error);
    }
  }

  private watchFailed(e: Error): void {
    this.m.errors.inc({ kind: "watch" });
    this.d.log.error("cannot watch the state directory for pods to check; the periodic resync finds them", {
      dir: this.o.stateDir,
      error: e,
    });
    this.watcher?.close();
    this.watcher = undefined;
  }

  private readRows(): PodRow[] | undefined {
    try {
      const state = NodeState.open(this.o.stateDir);
      try {
        return state.listPods(this.o.cniNetwork, { withRecordedAt: true }).rows;
      } finally {
        state.close();
      }
    } catch (e) {
      this.m.errors.inc({ kind: "read" });
      this.d.log.error("cannot read the pods to check; keeping the checks as they are", {
        error: errorText(e),
      });
      return undefined;
    }
  }

  private refresh(reason: string): void {
    if (this.stopped) return;
    const rows = this.readRows();
    if (rows === undefined) return;
    const { pods, problems } = checkedPods(rows);
    for (const p of problems)
      if (!this.reported.has(p)) this.d.log.warn("pod readiness check not run as declared", { problem: p });
    this.reported = new Set(problems);
    const seen = new Set<string>();
    for (const pod of pods) {
      seen.add(pod.key);
      const current = this.workers.get(pod.key);
      if (
        current &&
        current.pod.attachment === pod.attachment &&
        current.pod.ip === pod.ip &&
        sameReadinessCheck(current.pod.check, pod.check)
      )
        continue;
      if (current) this.retire(current);
      this.begin(pod, reason);
    }
    for (const [key, w] of this.workers) {
      if (seen.has(key)) continue;
      this.retire(w);
      this.workers.delete(key);
      this.d.setReadiness(w.pod, undefined);
      this.d.log.info("pod readiness check ended", { pod: key, reason });
    }
    this.updateGauges();
  }

  private begin(pod: CheckedPod, reason: string): void {
    const stored = this.startedWith?.get(pod.key);
    const state: ReadinessState = { ...INITIAL_READINESS, ready: stored ?? false };
    const w: Worker = { pod, state, timer: undefined, stopped: false };
    this.workers.set(pod.key, w);
    this.d.setReadiness(pod, state.ready);
    const delay = firstCheckDelayMs(pod.check, {
      attachedAt: pod.attachedAt,
      now: Date.now(),
      foundAtStart: this.startedWith !== undefined,
      random: Math.random(),
    });
    this.d.log.info("pod readiness check started", {
      pod: pod.key,
      ip: pod.ip,
      check: describeReadinessCheck(pod.check),
      ready: state.ready,
      firstInMs: delay,
      reason,
    });
    this.schedule(w, delay);
  }

  private retire(w: Worker): void {
    w.stopped = true;
    clearTimeout(w.timer);
    w.timer = undefined;
  }

  private schedule(w: Worker, delayMs: number): void {
    if (w.stopped || this.stopped) return;
    w.timer = setTimeout(() => {
      w.timer = undefined;
      void this.check(w);
    }, delayMs);
  }

  private async check(w: Worker): Promise<void> {
    const release = await this.limit.acquireFor(this.o.slotHoldMs ?? DEFAULT_SLOT_HOLD_MS);
    // Retired while it waited for a slot: the pod is gone or checked anew.
    if (w.stopped || this.stopped) return release();
    const started = Date.now();
    let outcome: ProbeOutcome;
    try {
      const { ip, check } = w.pod;
      outcome = await probeWithin(this.probe, ip, check.action, check.timeoutSeconds * 1000);
    } finally {
      release();
    }
    if (w.stopped || this.stopped) return;
    this.m.checks.inc({ result: outcome.result });
    const before = w.state.ready;
    w.state = nextReadiness(w.state, outcome.result, w.pod.check);
    if (w.state.ready !== before) {
      this.d.setReadiness(w.pod, w.state.ready);
      this.updateGauges();
      this.d.log.info(w.state.ready ? "pod ready" : "pod not ready", {
        pod: w.pod.key,
        check: describeReadinessCheck(w.pod.check),
        detail: outcome.detail,
        run: w.state.run,
      });
    }
    const next = nextCheckDelayMs(w.pod.check, Math.random());
    this.schedule(w, Math.max(0, started + next - Date.now()));
  }

  private updateGauges(): void {
    const all = [...this.workers.values()];
    this.m.checked.set(all.length);
    this.m.notReady.set(all.filter((w) => !w.state.ready).length);
  }
}

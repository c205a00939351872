/**
 * The agent's side of `podnet explain` and `podnet trace` (cluster/diagnosis-protocol.ts): it
 * watches `/podnet/diagnosis/requests/` (never the other nodes' answers), answers every request
 * that names this node with its facts (kept under the answer size limit), and
 * for a trace arms a TraceSession, sends the probe when the source is here, and reports what its
 * kernel saw (diagnosis-sessions.ts). Every key it writes hangs on the request's lease, and when
 * the request goes (the CLI revoked the lease, or died and the lease expired) or a write on that
 * lease fails, the session's table and monitor go too; a session also ends on its own after
 * SESSION_CAP_MS. At start it removes tracing tables a previous run left behind.
 */

import { unhandled } from "../base/unhandled.ts";
import type { DiagnosisRequest } from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_REQUESTS_PREFIX, diagnosisKey } from "../cluster/diagnosis-protocol.ts";
import { parseDiagnosisKey, parseDiagnosisRequest } from "../cluster/diagnosis-records.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import type { KeyValue, Store, WatchEvent } from "../store/store.ts";
import { type DiagnosisMetrics, diagnosisMetrics, requestKind } from "./diagnosis-metrics.ts";
import { type DiagnosisSessionOptions, DiagnosisSessions } from "./diagnosis-sessions.ts";
import { sweepTraceTables, TRACE_KERNEL, traceTableName } from "./trace-session.ts";
import { WorkChains } from "./work-chains.ts";

/** A failed start-up sweep of leftover tracing tables is retried this often until it succeeds. */
export const SWEEP_RETRY_MS = 30_000;

export interface DiagnosisResponderOptions extends DiagnosisSessionOptions {
  readonly sweepRetryMs?: number;
}

export class DiagnosisResponder {
  private readonly watch: WatchKeeper;
  /** Work on one request runs in order (arm, go, probe, end), each id on its own chain. */
  private readonly chains: WorkChains;
  private readonly sessions: DiagnosisSessions;
  private readonly m: DiagnosisMetrics;
  private stopped = false;
  /** Invalid requests already logged and counted, by key and revision (a re-listing repeats them). */
  private readonly invalid = new Set<string>();
  /** Set while leftover tables still wait to be removed (a failed sweep is retried). */
  private sweepRetry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly store: Store,
    private readonly o: DiagnosisResponderOptions,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.m = diagnosisMetrics(metrics);
    this.chains = new WorkChains((id, e) => this.log.error("diagnosis request failed", { id, error: e }));
    this.sessions = new DiagnosisSessions(store, o, log, this.m, this.chains);
    this.watch = new WatchKeeper({
      open: async (failed) => {
        // Requests and signals only: the other nodes' answers never reach this agent.
        const listed = await this.store.list(DIAGNOSIS_REQUESTS_PREFIX);
        await this.reconcile(listed.kvs);
        return [
          this.store.watch(DIAGNOSIS_REQUESTS_PREFIX, {
            fromRevision: listed.revision + 1,
            onEvents: (events) => this.onEvents(events),
            onError: failed,
          }),
        ];
      },
      reopened: () => this.log.info("diagnosis watch re-established"),
      failed: (e) => this.log.error("diagnosis watch failed; re-establishing it", { error: e }),
    });
  }

  private get node(): string {
    return this.o.facts.nodeName;
  }

  /**
   * Removes leftover tracing tables and monitors, then follows the requests; never throws (a failed
   * watch is retried, and so is a failed sweep, every sweepRetryMs until it succeeds).
   */
  async start(): Promise<void> {
    await this.sweep();
    try {
      await this.watch.open();
    } catch (e) {
      // Diagnosis is not a condition of the node working: keep retrying in the background.
      this.watch.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** One sweep of leftovers; the tables of this agent's own sessions are kept. */
  private async sweep(): Promise<void> {
    this.sweepRetry = undefined;
    if (this.stopped) return;
    const live = new Set(this.sessions.ids().map(traceTableName));
    try {
      const swept = await sweepTraceTables(this.o.kernel ?? TRACE_KERNEL, live);
      if (swept.length > 0) this.log.info("removed leftover trace tables", { tables: swept });
    } catch (e) {
      this.log.error("cannot remove leftover trace tables; retrying", {
        error: e,
        retryInMs: this.o.sweepRetryMs ?? SWEEP_RETRY_MS,
      });
      if (this.stopped) return;
      this.sweepRetry = setTimeout(() => void this.sweep(), this.o.sweepRetryMs ?? SWEEP_RETRY_MS);
      this.sweepRetry.unref?.();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepRetry !== undefined) clearTimeout(this.sweepRetry);
    this.sweepRetry = undefined;
    this.watch.close();
    await Promise.all(this.sessions.ids().map((id) => this.sessions.end(id, "agent stopping")));
    await this.chains.drain();
  }

  /** What the listing says, as if each key had just been written (after a start or a lost watch). */
  private async reconcile(kvs: readonly KeyValue[]): Promise<void> {
    const requests = new Set<string>();
    for (const kv of kvs) {
      const k = parseDiagnosisKey(kv.key);
      if (k?.part === "request") requests.add(k.id);
    }
    /** Requests this node answered before it (re)started: their sessions are gone, so is their trace. */
    const answered = new Set<string>();
    for (const id of requests)
      if (
        !this.sessions.has(id) &&
        (await this.store.get(diagnosisKey(id, "facts", this.node))) !== undefined
      )
        answered.add(id);
    for (const id of this.sessions.ids())
      if (!requests.has(id))
        this.chains.enqueue(id, () => this.sessions.end(id, "request gone while the watch was down"));
    const puts: WatchEvent[] = kvs
      .filter((kv) => !answered.has(parseDiagnosisKey(kv.key)?.id ?? ""))
      .map((kv) => ({ type: "put", kv, revision: kv.modRevision }));
    // In the order they were written: the request before its `go`, `go` before `probe`.
    this.onEvents(puts.sort((a, b) => a.revision - b.revision));
  }

  private onEvents(events: readonly WatchEvent[]): void {
    for (const event of events) {
      const key = event.type === "put" ? event.kv.key : event.key;
      const k = parseDiagnosisKey(key);
      if (k === undefined) continue;
      if (event.type === "delete") {
        if (k.part === "request") {
          for (const seen of this.invalid) if (seen.startsWith(`${key}@`)) this.invalid.delete(seen);
          this.chains.enqueue(k.id, () => this.sessions.end(k.id, "request deleted"));
        }
        continue;
      }
      switch (k.part) {
        case "request":
          this.chains.enqueue(k.id, () => this.onRequest(k.id, event.kv));
          break;
        case "go":
          this.chains.enqueue(k.id, () => this.sessions.go(k.id));
          break;
        case "probe":
          this.chains.enqueue(k.id, () => this.sessions.probed(k.id));
          break;
        case "facts":
        case "armed":
        case "observed":
          break;
        default:
          unhandled(k);
      }
    }
  }

  /** A request written: validated, and opened as a session when it names this node and has a lease. */
  private async onRequest(id: string, kv: KeyValue): Promise<void> {
    if (this.stopped || this.sessions.has(id)) return;
    let request: DiagnosisRequest;
    try {
      request = parseDiagnosisRequest(kv.key, kv.value);
    } catch (e) {
      // Once per key and revision: a re-listing after a lost watch shows it again.
      const seen = `${kv.key}@${kv.modRevision}`;
      if (this.invalid.has(seen)) return;
      this.invalid.add(seen);
      this.log.warn("ignoring an invalid diagnosis request", { key: kv.key, error: e });
      this.m.requests.inc({ kind: requestKind(kv.value), result: "invalid" });
      return;
    }
    if (request.nodes.length > 0 && !request.nodes.includes(this.node)) return;
    if (kv.lease === undefined) {
      // Answers (and tracing rules) must die with the requester; without a lease nothing would remove them.
      this.log.warn("ignoring a diagnosis request without a lease", { id, requester: request.requester });
      this.m.requests.inc({ kind: request.kind, result: "invalid" });
      return;
    }
    await this.sessions.open(id, request, kv.lease);
  }
}

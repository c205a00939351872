/**
 * The agent's side of `podnet explain` and `podnet trace` (cluster/diagnosis-protocol.ts): it
 * watches `/podnet/diagnosis/requests/` (never the other nodes' answers), answers every request
 * that names this node with its facts (kept under the answer size limit), and
 * for a trace arms a TraceSession, sends the probe when the source is here, and reports what its
 * kernel saw. Every key it writes hangs on the request's lease, and when the request goes (the
 * CLI revoked the lease, or died and the lease expired) or a write on that lease fails, the
 * session's table and monitor go too; a session also ends on its own after SESSION_CAP_MS. At
 * start it removes tracing tables a previous run left behind.
 */

import { unhandled } from "../base/unhandled.ts";
import { escapeControlsDeep } from "../cluster/diagnosis-checker.ts";
import type {
  DiagnosisKind,
  DiagnosisRequest,
  ProbeResult,
  TraceSpec,
} from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_REQUESTS_PREFIX, diagnosisKey } from "../cluster/diagnosis-protocol.ts";
import { parseDiagnosisKey, parseDiagnosisRequest } from "../cluster/diagnosis-records.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import type { KeyValue, Store, WatchEvent } from "../store/store.ts";
import { fitFacts, fitObservation } from "./answer-budget.ts";
import { forwardingSysctlKeys, gatherNodeFacts, type NodeFactsContext } from "./node-facts.ts";
import { podNetns, runProbeProcess } from "./probe-runner.ts";
import {
  sweepTraceTables,
  TRACE_KERNEL,
  type TraceKernel,
  TraceSession,
  traceTableName,
} from "./trace-session.ts";
import { VXLAN_PORT } from "./vxlan-device.ts";

/** A trace session ends on its own after this long, whatever the CLI does. */
export const SESSION_CAP_MS = 60_000;
/** After the probe, packets still in flight (the reply, the last ACK) reach the monitor within this. */
export const OBSERVE_DELAY_MS = 300;
/**
 * At most this many trace sessions run at once on a node: each has a table, a monitor and a timer,
 * and every monitor receives every session's events (tracing is per namespace).
 */
export const MAX_CONCURRENT_TRACES = 4;
/** A failed start-up sweep of leftover tracing tables is retried this often until it succeeds. */
export const SWEEP_RETRY_MS = 30_000;

export const DIAGNOSIS_RESULTS = ["answered", "observed", "aborted", "invalid", "failed"] as const;
export type DiagnosisResult = (typeof DIAGNOSIS_RESULTS)[number];

export interface DiagnosisResponderOptions {
  readonly facts: NodeFactsContext;
  readonly kernel?: TraceKernel;
  /** Sends the probe of `spec` (from the pod namespace `netns` when given); the default runs `podnet probe`. */
  readonly sendProbe?: (spec: TraceSpec, netns: string | undefined) => Promise<ProbeResult>;
  readonly sessionCapMs?: number;
  readonly observeDelayMs?: number;
  readonly maxConcurrentTraces?: number;
  readonly sweepRetryMs?: number;
}

interface Entry {
  readonly request: DiagnosisRequest;
  readonly lease: string;
  session?: TraceSession;
  cap?: ReturnType<typeof setTimeout>;
  probed: boolean;
  observed: boolean;
  done: boolean;
  /** Whether its result was counted (once per request). */
  counted: boolean;
}

export function diagnosisMetrics(metrics: Metrics) {
  const requests = metrics.counter(
    "podnet_diagnosis_requests_total",
    "Diagnosis requests this agent handled, by kind (facts, trace) and result.",
    ["kind", "result"],
  );
  for (const kind of ["facts", "trace"])
    for (const result of DIAGNOSIS_RESULTS) requests.inc({ kind, result }, 0);
  return { requests };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What an unparseable request claims to be, for the metric ("facts" when it says nothing usable). */
function requestKind(value: string): DiagnosisKind {
  try {
    const v: unknown = JSON.parse(value);
    if (typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "trace") return "trace";
  } catch {
    // not JSON: counted as facts
  }
  return "facts";
}

export class DiagnosisResponder {
  private readonly watch: WatchKeeper;
  private readonly entries = new Map<string, Entry>();
  /** Work on one request runs in order (arm, go, probe, end), each id on its own chain. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly m: ReturnType<typeof diagnosisMetrics>;
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

  private get kernel(): TraceKernel {
    return this.o.kernel ?? TRACE_KERNEL;
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
    const live = new Set([...this.entries.keys()].map(traceTableName));
    try {
      const swept = await sweepTraceTables(this.kernel, live);
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
    const ids = [...this.entries.keys()];
    await Promise.all(ids.map((id) => this.end(id, "agent stopping")));
    await Promise.all([...this.chains.values()]);
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
      if (!this.entries.has(id) && (await this.store.get(diagnosisKey(id, "facts", this.node))) !== undefined)
        answered.add(id);
    for (const id of this.entries.keys())
      if (!requests.has(id)) this.enqueue(id, () => this.end(id, "request gone while the watch was down"));
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
          this.enqueue(k.id, () => this.end(k.id, "request deleted"));
        }
        continue;
      }
      switch (k.part) {
        case "request":
          this.enqueue(k.id, () => this.onRequest(k.id, event.kv));
          break;
        case "go":
          this.enqueue(k.id, () => this.onGo(k.id));
          break;
        case "probe":
          this.enqueue(k.id, () => this.onProbe(k.id));
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

  private enqueue(id: string, work: () => Promise<void>): void {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((e) => this.log.error("diagnosis request failed", { id, error: e }))
      .finally(() => {
        if (this.chains.get(id) === next) this.chains.delete(id);
      });
    this.chains.set(id, next);
  }

  private count(kind: DiagnosisKind, result: DiagnosisResult): void {
    this.m.requests.inc({ kind, result });
  }

  /** Counts the request's result, the first one only. */
  private settle(entry: Entry, result: DiagnosisResult): void {
    if (entry.counted) return;
    entry.counted = true;
    this.count(entry.request.kind, result);
  }

  private async onRequest(id: string, kv: KeyValue): Promise<void> {
    if (this.stopped || this.entries.has(id)) return;
    let request: DiagnosisRequest;
    try {
      request = parseDiagnosisRequest(kv.key, kv.value);
    } catch (e) {
      // Once per key and revision: a re-listing after a lost watch shows it again.
      const seen = `${kv.key}@${kv.modRevision}`;
      if (this.invalid.has(seen)) return;
      this.invalid.add(seen);
      this.log.warn("ignoring an invalid diagnosis request", { key: kv.key, error: e });
      this.count(requestKind(kv.value), "invalid");
      return;
    }
    if (request.nodes.length > 0 && !request.nodes.includes(this.node)) return;
    if (kv.lease === undefined) {
      // Answers (and tracing rules) must die with the requester; without a lease nothing would remove them.
      this.log.warn("ignoring a diagnosis request without a lease", { id, requester: request.requester });
      this.count(request.kind, "invalid");
      return;
    }
    const entry: Entry = {
      request,
      lease: kv.lease,
      probed: false,
      observed: false,
      done: false,
      counted: false,
    };
    this.entries.set(id, entry);
    this.log.info("diagnosis session started", { id, kind: request.kind, requester: request.requester });
    entry.cap = setTimeout(
      () => this.enqueue(id, () => this.end(id, "session cap reached")),
      this.o.sessionCapMs ?? SESSION_CAP_MS,
    );
    const trace = request.trace;
    const running = [...this.entries.values()].filter((e) => e.session !== undefined && !e.done).length;
    const limit = this.o.maxConcurrentTraces ?? MAX_CONCURRENT_TRACES;
    if (trace !== undefined && running >= limit) {
      // Facts still come; the trace is refused with its reason, and nothing is installed.
      const facts = fitFacts(await gatherNodeFacts(this.o.facts, request));
      if (!(await this.answer(entry, diagnosisKey(id, "facts", this.node), facts))) return;
      const error = `too many traces in progress on ${this.node} (limit ${limit}); try again when one ended`;
      this.log.warn("refusing a trace", { id, error });
      this.settle(entry, "failed");
      await this.answer(entry, diagnosisKey(id, "armed", this.node), {
        node: this.node,
        table: `inet ${traceTableName(id)}`,
        error,
      });
      return;
    }
    const session =
      trace === undefined
        ? undefined
        : new TraceSession(id, trace, {
            nodeName: this.node,
            vxlanPort: VXLAN_PORT,
            sysctlKeys: forwardingSysctlKeys(this.o.facts.uplink, this.o.facts.bridge ?? "podnet0"),
            kernel: this.kernel,
          });
    entry.session = session;
    const [facts, armed] = await Promise.all([gatherNodeFacts(this.o.facts, request), session?.arm()]);
    if (!(await this.answer(entry, diagnosisKey(id, "facts", this.node), fitFacts(facts)))) return;
    if (session === undefined || armed === undefined) {
      this.settle(entry, "answered");
      return;
    }
    if (armed.error !== undefined) {
      this.log.warn("cannot arm trace", { id, error: armed.error });
      this.settle(entry, "failed");
    }
    await this.answer(entry, diagnosisKey(id, "armed", this.node), armed);
  }

  /**
   * Writes `value` under the request's lease; false (and the session ended) when it cannot be,
   * typically because the lease is gone: nobody is listening any more.
   */
  private async answer(entry: Entry, key: string, value: unknown): Promise<boolean> {
    if (entry.done) return false;
    try {
      // Control characters (an echo line, a tool's stderr) are written visibly: readers refuse them.
      await this.store.put(key, JSON.stringify(escapeControlsDeep(value)), { lease: entry.lease });
      return true;
    } catch (e) {
      this.log.warn("cannot write diagnosis answer; ending the session", { key, error: message(e) });
      this.settle(entry, "failed");
      await this.end(entry.request.id, "answer could not be written");
      return false;
    }
  }

  private isSource(spec: TraceSpec): boolean {
    const s = spec.source;
    return (s.kind === "pod" || s.kind === "node") && s.node === this.node;
  }

  private async onGo(id: string): Promise<void> {
    const entry = this.entries.get(id);
    const spec = entry?.request.trace;
    if (entry === undefined || spec === undefined || entry.done || entry.probed || !this.isSource(spec))
      return;
    entry.probed = true;
    let netns: string | undefined;
    let pod: string | undefined;
    if (spec.source.kind === "pod") {
      pod = `${spec.source.namespace}/${spec.source.name}`;
      try {
        netns = podNetns(this.o.facts, spec.source.namespace, spec.source.name);
      } catch (e) {
        // Whatever went wrong, the requester learns it now instead of waiting for its timeout.
        const error = `cannot send the probe from pod ${pod} on ${this.node}: ${message(e)}`;
        this.log.warn("trace probe not sent", { id, error });
        await this.answer(entry, diagnosisKey(id, "probe"), { outcome: "error", ms: 0, error });
        return;
      }
    }
    const podName = pod;
    const send =
      this.o.sendProbe ?? ((s: TraceSpec, n: string | undefined) => runProbeProcess(s, n, podName));
    const result = await send(spec, netns).catch(
      (e): ProbeResult => ({ outcome: "error", ms: 0, error: message(e) }),
    );
    this.log.info("trace probe sent", { id, outcome: result.outcome, ms: result.ms });
    await this.answer(entry, diagnosisKey(id, "probe"), result);
  }

  private async onProbe(id: string): Promise<void> {
    const entry = this.entries.get(id);
    const session = entry?.session;
    if (entry === undefined || session === undefined || entry.done || entry.observed || !session.armed)
      return;
    entry.observed = true;
    await new Promise((resolve) => setTimeout(resolve, this.o.observeDelayMs ?? OBSERVE_DELAY_MS));
    const observation = fitObservation(await session.observe());
    if (await this.answer(entry, diagnosisKey(id, "observed", this.node), observation)) {
      this.settle(entry, "observed");
      this.log.info("trace observed", {
        id,
        events: observation.events.length,
        conntrack: observation.conntrack.length,
        errors: observation.errors,
      });
    }
  }

  /** Ends the request's session: monitor stopped, table removed, timers cleared. */
  private async end(id: string, reason: string): Promise<void> {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    const wasDone = entry.done;
    entry.done = true;
    if (entry.cap !== undefined) clearTimeout(entry.cap);
    entry.cap = undefined;
    // Keep the entry while the request exists, so a re-listing does not answer it again.
    if (reason !== "session cap reached") this.entries.delete(id);
    if (wasDone) return;
    if (entry.session !== undefined) {
      try {
        await entry.session.close(reason);
      } catch (e) {
        this.log.error("cannot clean up trace session", { id, error: e });
      }
    }
    this.settle(entry, "aborted");
    this.log.info("diagnosis session ended", { id, kind: entry.request.kind, reason });
  }
}

/**
 * The agent's side of `podnet explain` and `podnet trace` (cluster/diagnosis-protocol.ts): it
 * watches `/podnet/diagnosis/`, answers every request that names this node with its facts, and
 * for a trace arms a TraceSession, sends the probe when the source is here, and reports what its
 * kernel saw. Every key it writes hangs on the request's lease, and when the request goes (the
 * CLI revoked the lease, or died and the lease expired) or a write on that lease fails, the
 * session's table and monitor go too; a session also ends on its own after SESSION_CAP_MS. At
 * start it removes tracing tables a previous run left behind.
 */

import { unhandled } from "../base/unhandled.ts";
import type {
  DiagnosisKind,
  DiagnosisRequest,
  ProbeResult,
  TraceSpec,
} from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_PREFIX, diagnosisKey } from "../cluster/diagnosis-protocol.ts";
import { parseDiagnosisKey, parseDiagnosisRequest, parseProbeResult } from "../cluster/diagnosis-records.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import { run } from "../linux/exec.ts";
import { NodeState } from "../node-state/node-state.ts";
import { selfExecutable } from "../plugin/install.ts";
import type { KeyValue, Store, WatchEvent } from "../store/store.ts";
import { forwardingSysctlKeys, gatherNodeFacts, type NodeFactsContext } from "./node-facts.ts";
import { runProbe } from "./trace-probe.ts";
import { sweepTraceTables, TRACE_KERNEL, type TraceKernel, TraceSession } from "./trace-session.ts";
import { VXLAN_PORT } from "./vxlan-device.ts";

/** A trace session ends on its own after this long, whatever the CLI does. */
export const SESSION_CAP_MS = 60_000;
/** After the probe, packets still in flight (the reply, the last ACK) reach the monitor within this. */
export const OBSERVE_DELAY_MS = 300;

export const DIAGNOSIS_RESULTS = ["answered", "observed", "aborted", "invalid", "failed"] as const;
export type DiagnosisResult = (typeof DIAGNOSIS_RESULTS)[number];

export interface DiagnosisResponderOptions {
  readonly facts: NodeFactsContext;
  readonly kernel?: TraceKernel;
  /** Sends the probe of `spec` (from the pod namespace `netns` when given); the default runs `podnet probe`. */
  readonly sendProbe?: (spec: TraceSpec, netns: string | undefined) => Promise<ProbeResult>;
  readonly sessionCapMs?: number;
  readonly observeDelayMs?: number;
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

/** The argv of `podnet probe` for `spec`, run inside `netns` with nsenter when given. */
export function probeArgv(exe: string, spec: TraceSpec, netns: string | undefined): string[] {
  const argv = [exe, "probe", "--to", spec.destination.ip, "--proto", spec.proto];
  if (spec.proto !== "icmp") {
    if (spec.destination.port !== undefined) argv.push("--port", String(spec.destination.port));
    if (spec.sourcePort !== undefined) argv.push("--sport", String(spec.sourcePort));
  }
  argv.push("--timeout-ms", String(spec.probeTimeoutMs));
  return netns === undefined ? argv : ["nsenter", `--net=${netns}`, ...argv];
}

async function runProbeProcess(spec: TraceSpec, netns: string | undefined): Promise<ProbeResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  // The agent's own namespace needs no child process.
  if (netns === undefined)
    return runProbe({
      to: spec.destination.ip,
      proto: spec.proto,
      ...(spec.destination.port !== undefined ? { port: spec.destination.port } : {}),
      ...(spec.sourcePort !== undefined && spec.proto !== "icmp" ? { sport: spec.sourcePort } : {}),
      timeoutMs: spec.probeTimeoutMs,
    });
  try {
    const r = await run(probeArgv(selfExecutable(), spec, netns), { timeoutMs: spec.probeTimeoutMs + 5000 });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.code !== 0 || line === "")
      return { outcome: "error", ms: ms(), error: `podnet probe exited with ${r.code}: ${r.stderr.trim()}` };
    return parseProbeResult("podnet probe output", line);
  } catch (e) {
    return { outcome: "error", ms: ms(), error: message(e) };
  }
}

export class DiagnosisResponder {
  private readonly watch: WatchKeeper;
  private readonly entries = new Map<string, Entry>();
  /** Work on one request runs in order (arm, go, probe, end), each id on its own chain. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly m: ReturnType<typeof diagnosisMetrics>;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly o: DiagnosisResponderOptions,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.m = diagnosisMetrics(metrics);
    this.watch = new WatchKeeper({
      open: async (failed) => {
        const listed = await this.store.list(DIAGNOSIS_PREFIX);
        this.reconcile(listed.kvs);
        return [
          this.store.watch(DIAGNOSIS_PREFIX, {
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

  /** Removes leftover tracing tables, then follows the requests; never throws (a failed watch is retried). */
  async start(): Promise<void> {
    try {
      const swept = await sweepTraceTables(this.kernel);
      if (swept.length > 0) this.log.info("removed leftover trace tables", { tables: swept });
    } catch (e) {
      this.log.error("cannot remove leftover trace tables", { error: e });
    }
    try {
      await this.watch.open();
    } catch (e) {
      // Diagnosis is not a condition of the node working: keep retrying in the background.
      this.watch.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch.close();
    const ids = [...this.entries.keys()];
    await Promise.all(ids.map((id) => this.end(id, "agent stopping")));
    await Promise.all([...this.chains.values()]);
  }

  /** What the listing says, as if each key had just been written (after a start or a lost watch). */
  private reconcile(kvs: readonly KeyValue[]): void {
    const requests = new Set<string>();
    /** Requests this node answered before it (re)started: their sessions are gone, so is their trace. */
    const answered = new Set<string>();
    for (const kv of kvs) {
      const k = parseDiagnosisKey(kv.key);
      if (k?.part === "request") requests.add(k.id);
      if (k?.part === "facts" && k.node === this.node && !this.entries.has(k.id)) answered.add(k.id);
    }
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
        if (k.part === "request") this.enqueue(k.id, () => this.end(k.id, "request deleted"));
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
      this.log.warn("ignoring an invalid diagnosis request", { key: kv.key, error: e });
      this.count("facts", "invalid");
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
    if (!(await this.answer(entry, diagnosisKey(id, "facts", this.node), facts))) return;
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
      await this.store.put(key, JSON.stringify(value), { lease: entry.lease });
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
    if (spec.source.kind === "pod") {
      netns = this.podNetns(spec.source.namespace, spec.source.name);
      if (netns === undefined) {
        const error = `pod ${spec.source.namespace}/${spec.source.name} has no recorded network namespace on ${this.node}`;
        await this.answer(entry, diagnosisKey(id, "probe"), { outcome: "error", ms: 0, error });
        return;
      }
    }
    const send = this.o.sendProbe ?? runProbeProcess;
    const result = await send(spec, netns).catch(
      (e): ProbeResult => ({ outcome: "error", ms: 0, error: message(e) }),
    );
    this.log.info("trace probe sent", { id, outcome: result.outcome, ms: result.ms });
    await this.answer(entry, diagnosisKey(id, "probe"), result);
  }

  private podNetns(namespace: string, name: string): string | undefined {
    const state = NodeState.open(this.o.facts.stateDir);
    try {
      const { rows } = state.listPods(this.o.facts.cniNetwork);
      return rows.find((r) => r.namespace === namespace && r.name === name)?.netns;
    } finally {
      state.close();
    }
  }

  private async onProbe(id: string): Promise<void> {
    const entry = this.entries.get(id);
    const session = entry?.session;
    if (entry === undefined || session === undefined || entry.done || entry.observed || !session.armed)
      return;
    entry.observed = true;
    await new Promise((resolve) => setTimeout(resolve, this.o.observeDelayMs ?? OBSERVE_DELAY_MS));
    const observation = await session.observe();
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
        await entry.session.close();
      } catch (e) {
        this.log.error("cannot clean up trace session", { id, error: e });
      }
    }
    this.settle(entry, "aborted");
    this.log.info("diagnosis session ended", { id, kind: entry.request.kind, reason });
  }
}

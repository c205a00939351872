/**
 * The requests this node answers (diagnosis-responder.ts follows them and calls in here): the
 * facts, and for a trace the TraceSession it arms, the probe it sends when the source is here, and
 * what its kernel saw. Every key is written under the request's lease; a write that fails ends the
 * session, and so does SESSION_CAP_MS.
 */
import { errorText } from "../base/error-text.ts";
import { escapeControlsDeep } from "../cluster/diagnosis-checker.ts";
import type { DiagnosisRequest, ProbeResult, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { diagnosisKey, MAX_ANSWER_BYTES } from "../cluster/diagnosis-protocol.ts";
import type { Logger } from "../daemon/log.ts";
import type { Store } from "../store/store.ts";
import { fitFacts, fitObservation, requestFamilies } from "./answer-budget.ts";
import type { DiagnosisMetrics, DiagnosisResult } from "./diagnosis-metrics.ts";
import { gatherNodeFacts, type NodeFactsContext } from "./node-facts.ts";
import { forwardingSysctlKeys } from "./node-sysctls.ts";
import { podNetns, runProbeProcess } from "./probe-runner.ts";
import { TRACE_KERNEL, type TraceKernel, TraceSession, traceTableName } from "./trace-session.ts";
import { VXLAN_PORT } from "./vxlan-device.ts";
import type { WorkChains } from "./work-chains.ts";

/** A trace session ends on its own after this long, whatever the CLI does. */
export const SESSION_CAP_MS = 60_000;
/** After the probe, packets still in flight (the reply, the last ACK) reach the monitor within this. */
export const OBSERVE_DELAY_MS = 300;
/**
 * At most this many trace sessions run at once on a node: each has a table, a monitor and a timer,
 * and every monitor receives every session's events (tracing is per namespace).
 */
export const MAX_CONCURRENT_TRACES = 4;

export interface DiagnosisSessionOptions {
  readonly facts: NodeFactsContext;
  readonly kernel?: TraceKernel;
  /** Sends the probe of `spec` (from the pod namespace `netns` when given); the default runs `podnet probe`. */
  readonly sendProbe?: (spec: TraceSpec, netns: string | undefined) => Promise<ProbeResult>;
  readonly sessionCapMs?: number;
  readonly observeDelayMs?: number;
  readonly maxConcurrentTraces?: number;
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

export class DiagnosisSessions {
  private readonly entries = new Map<string, Entry>();

  /** `chains` runs each request's work in order; the session cap queues its end there. */
  constructor(
    private readonly store: Store,
    private readonly o: DiagnosisSessionOptions,
    private readonly log: Logger,
    private readonly m: DiagnosisMetrics,
    private readonly chains: WorkChains,
  ) {}

  private get node(): string {
    return this.o.facts.nodeName;
  }

  private get kernel(): TraceKernel {
    return this.o.kernel ?? TRACE_KERNEL;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** The ids of the requests with an entry (ended by the cap but not yet deleted included). */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Counts the request's result, the first one only. */
  private settle(entry: Entry, result: DiagnosisResult): void {
    if (entry.counted) return;
    entry.counted = true;
    this.m.requests.inc({ kind: entry.request.kind, result });
  }

  /** Answers a valid request for this node, written under `lease`: its facts, and arms its trace. */
  async open(id: string, request: DiagnosisRequest, lease: string): Promise<void> {
    const entry: Entry = { request, lease, probed: false, observed: false, done: false, counted: false };
    this.entries.set(id, entry);
    this.log.info("diagnosis session started", { id, kind: request.kind, requester: request.requester });
    entry.cap = setTimeout(
      () => this.chains.enqueue(id, () => this.end(id, "session cap reached")),
      this.o.sessionCapMs ?? SESSION_CAP_MS,
    );
    const trace = request.trace;
    const running = [...this.entries.values()].filter((e) => e.session !== undefined && !e.done).length;
    const limit = this.o.maxConcurrentTraces ?? MAX_CONCURRENT_TRACES;
    if (trace !== undefined && running >= limit) {
      // Facts still come; the trace is refused with its reason, and nothing is installed.
      const facts = fitFacts(
        await gatherNodeFacts(this.o.facts, request),
        MAX_ANSWER_BYTES,
        requestFamilies(request.addresses),
      );
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
    if (
      !(await this.answer(
        entry,
        diagnosisKey(id, "facts", this.node),
        fitFacts(facts, MAX_ANSWER_BYTES, requestFamilies(request.addresses)),
      ))
    )
      return;
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
      this.log.warn("cannot write diagnosis answer; ending the session", { key, error: errorText(e) });
      this.settle(entry, "failed");
      await this.end(entry.request.id, "answer could not be written");
      return false;
    }
  }

  private isSource(spec: TraceSpec): boolean {
    const s = spec.source;
    return (s.kind === "pod" || s.kind === "node") && s.node === this.node;
  }

  /** The requester's `go`: the source's agent sends the probe and writes its result. */
  async go(id: string): Promise<void> {
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
        const error = `cannot send the probe from pod ${pod} on ${this.node}: ${errorText(e)}`;
        this.log.warn("trace probe not sent", { id, error });
        await this.answer(entry, diagnosisKey(id, "probe"), { outcome: "error", ms: 0, error });
        return;
      }
    }
    const podName = pod;
    const send =
      this.o.sendProbe ?? ((s: TraceSpec, n: string | undefined) => runProbeProcess(s, n, podName));
    const result = await send(spec, netns).catch(
      (e): ProbeResult => ({ outcome: "error", ms: 0, error: errorText(e) }),
    );
    this.log.info("trace probe sent", { id, outcome: result.outcome, ms: result.ms });
    await this.answer(entry, diagnosisKey(id, "probe"), result);
  }

  /** The probe's result is in: after packets in flight arrive, every armed node writes what it saw. */
  async probed(id: string): Promise<void> {
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
  async end(id: string, reason: string): Promise<void> {
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

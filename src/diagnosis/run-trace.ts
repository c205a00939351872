/**
 * The pipeline `podnet trace` runs, shared with `podnet ui`'s /api/trace: resolve source and
 * destination in the snapshot, plan, ask the agents (and probe unless told not to), predict,
 * observe, compare, and build the TraceReport. The caller owns the store and supplies what only a
 * command knows (the probe's source port, an external prober).
 */
import type { ProbeResult, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import type { Store } from "../store/store.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { compareTrace } from "./compare.ts";
import { runTraceSession } from "./diagnosis-client.ts";
import { findDrift } from "./drift.ts";
import { observeTrace } from "./observe.ts";
import { predictTrace } from "./predict.ts";
import { screenFacts } from "./screen-facts.ts";
import { readClusterSnapshot } from "./snapshot-reader.ts";
import { resolveTarget } from "./target.ts";
import { defaultTraceProto, parseTraceDestination } from "./trace-destination.ts";
import { planTrace } from "./trace-plan.ts";
import { buildTraceReport } from "./trace-report.ts";
import type { TraceReport } from "./trace-types.ts";

/** The probe's own timeout, at most (the session needs time around it to arm and observe). */
export const PROBE_TIMEOUT_MS = 2000;
/** The probe's source port: outside Linux's ephemeral range (32768–60999), so no socket holds it. */
export const SOURCE_PORT_MIN = 20000;
export const SOURCE_PORT_MAX = 29999;

export function randomSourcePort(random: () => number = Math.random): number {
  return SOURCE_PORT_MIN + Math.floor(random() * (SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1));
}

/** How much of the session the probe itself may take: its default, less when the session is short. */
export function probeTimeoutFor(sessionMs: number): number {
  return Math.max(100, Math.min(PROBE_TIMEOUT_MS, Math.floor(sessionMs / 4)));
}

/** A source no podnet agent can send from, without a namespace to send from instead. */
export class TraceSourceError extends Error {
  override readonly name = "TraceSourceError";
}

export interface RunTraceOptions {
  /** "SOURCE": a pod, node or address. */
  readonly source: string;
  /** "DESTINATION[:PORT][/tcp|udp|icmp]". */
  readonly destination: string;
  readonly probe: boolean;
  readonly timeoutMs: number;
  readonly sourcePort: number;
  readonly probeTimeoutMs: number;
  /** Sends the probe for a source outside the cluster (the lab's external host); without it such a source is refused. */
  readonly externalProber?: (spec: TraceSpec) => Promise<ProbeResult>;
  /** The snapshot to trace in (read from the store when absent). */
  readonly snapshot?: ClusterSnapshot;
}

/** The trace of one packet and its reply. Throws TargetError / TraceSourceError when it cannot be traced. */
export async function runTrace(store: Store, o: RunTraceOptions): Promise<TraceReport> {
  const { target, proto } = parseTraceDestination(o.destination);
  const snapshot = o.snapshot ?? (await readClusterSnapshot(store));
  const source = resolveTarget(snapshot, o.source);
  const destination = resolveTarget(snapshot, target);
  if (source.kind === "external" && o.externalProber === undefined)
    throw new TraceSourceError(
      `Cannot trace from ${source.ip}: it is outside the cluster, so no podnet agent can send from it (trace from a pod or a node; in the lab, "podnet lab trace external …" sends from the external host)`,
    );
  const plan = planTrace(snapshot, source, destination, proto ?? defaultTraceProto(destination), {
    sourcePort: o.sourcePort,
    probeTimeoutMs: o.probeTimeoutMs,
  });
  const session = await runTraceSession(store, snapshot, plan, {
    timeoutMs: o.timeoutMs,
    probe: o.probe,
    ...(o.externalProber !== undefined && source.kind === "external" ? { sendProbe: o.externalProber } : {}),
  });
  // A node whose answer the readers cannot take is left out and named, not fatal for the rest.
  const screened = screenFacts(snapshot, session.facts);
  const missing = [...session.missing, ...screened.missing];
  const prediction = predictTrace(snapshot, screened.facts, plan);
  const observation = o.probe ? observeTrace(plan, session.observations, session.probe) : undefined;
  const verdict = compareTrace(prediction, observation);
  const drift = findDrift(snapshot, screened.facts, missing);
  return buildTraceReport({
    plan,
    prediction,
    ...(observation !== undefined ? { observation } : {}),
    verdict,
    drift,
    missing,
    probed: o.probe,
  });
}

/**
 * Turns the diagnosis benchmark's samples into its report (JSON), judged against podnet's targets
 * (pure). Latencies are summarised with p50 and p95 (nearest rank: always a measured value; with
 * 20 samples p95 is the second slowest, with 10 it is the slowest). Ratios are podnet / anchor:
 * explain / the by-hand script, trace / the bare probe.
 */
import type { FailureReport } from "../support/failures.ts";
import { failureReport } from "../support/failures.ts";
import type { Machine } from "../support/machine.ts";
import { percentile, ratio, round3, summarize } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import type { ExplainSamples } from "./explain-bench.ts";
import type { ExplainKey, ExplainSubject, TraceKey, TraceSubject } from "./subjects.ts";
import { EXPLAIN_KEYS, TRACE_KEYS } from "./subjects.ts";
import { judgeTargets } from "./targets.ts";
import type { TraceSamples } from "./trace-bench.ts";

export type Part = "explain" | "trace";
export const PARTS: readonly Part[] = ["explain", "trace"];

export interface LabInfo {
  readonly id: string;
  readonly backend: string;
  readonly nodes: number;
  readonly pods: number;
  readonly datastore: string;
  readonly upSeconds: number;
  /** The namespace explain, trace and the datastore reads run in (the first node's). */
  readonly askingNetns: string;
  /** The trace source, as trace takes it. */
  readonly source: string;
}

export interface RawResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine;
  readonly podnet: {
    readonly binary: string;
    readonly version: string;
    /** The binary's modification time when the run started: which build the figures belong to. */
    readonly modified: string;
    readonly replacedDuringRun: boolean;
  };
  readonly options: {
    readonly parts: readonly Part[];
    readonly explainRounds: number;
    readonly traceRounds: number;
    readonly warmup: number;
  };
  /** Absent when the lab could not be brought up. */
  readonly lab?: LabInfo;
  readonly subjects?: {
    readonly explain: readonly ExplainSubject[];
    readonly trace: readonly TraceSubject[];
  };
  /** The anchor's commands per run (18 kernel reads on 3 nodes and 2 datastore reads). */
  readonly anchorCommands?: number;
  readonly explain?: ExplainSamples;
  readonly trace?: TraceSamples;
  readonly failures: readonly string[];
}

export interface LatencySummary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly mean: number;
}

export interface RatioP50P95 {
  readonly p50: number | null;
  readonly p95: number | null;
}

export interface ExplainAddressReport {
  readonly key: ExplainKey;
  readonly label: string;
  readonly address: string;
  readonly kind: string;
  readonly ms: LatencySummary | null;
  /** explain / anchor. */
  readonly ratio: RatioP50P95;
}

export interface ExplainReport {
  readonly rounds: number;
  readonly anchor: {
    readonly commands: number;
    readonly ms: LatencySummary | null;
    /** p50 of each kind of command, summed over the nodes it runs on. */
    readonly steps: readonly { readonly label: string; readonly p50Ms: number }[];
  };
  readonly addresses: readonly ExplainAddressReport[];
}

export interface TraceDestinationReport {
  readonly key: TraceKey;
  readonly label: string;
  readonly address: string;
  readonly port: number;
  readonly verifiedMs: LatencySummary | null;
  readonly noProbeMs: LatencySummary | null;
  readonly probeMs: LatencySummary | null;
  /** How many measured verified traces ended with each verdict.status. */
  readonly verdicts: Readonly<Record<string, number>>;
  /** trace / probe. */
  readonly ratio: { readonly verified: RatioP50P95; readonly noProbe: RatioP50P95 };
  /** Verified p50 less --no-probe p50: what arming the nodes, the packet and watching it cost. */
  readonly verificationP50Ms: number | null;
}

export interface TraceFigures {
  readonly rounds: number;
  readonly destinations: readonly TraceDestinationReport[];
}

export interface BenchReport {
  readonly benchmark: "podnet-diagnosis";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine;
  readonly podnet: RawResults["podnet"];
  readonly options: RawResults["options"];
  readonly lab: LabInfo | null;
  readonly explain: ExplainReport | null;
  readonly trace: TraceFigures | null;
  readonly targets: readonly TargetCheck[];
  readonly failures: FailureReport;
}

/** Unrounded: ratios and targets are computed on these. */
export function latencySummary(samples: readonly number[]): LatencySummary | null {
  if (samples.length === 0) return null;
  const s = summarize(samples);
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: s.n, min: s.min, p50: s.p50, p95: percentile(sorted, 95), max: s.max, mean: s.mean };
}

function rounded(s: LatencySummary | null): LatencySummary | null {
  return s === null
    ? null
    : {
        n: s.n,
        min: round3(s.min),
        p50: round3(s.p50),
        p95: round3(s.p95),
        max: round3(s.max),
        mean: round3(s.mean),
      };
}

function ratios(podnet: LatencySummary | null, anchor: LatencySummary | null): RatioP50P95 {
  const r = (a: number | undefined, b: number | undefined) => {
    if (a === undefined || b === undefined) return null;
    const v = ratio(a, b);
    return v === null ? null : round3(v);
  };
  return { p50: r(podnet?.p50, anchor?.p50), p95: r(podnet?.p95, anchor?.p95) };
}

function explainReport(raw: RawResults, samples: ExplainSamples): ExplainReport {
  const anchor = latencySummary(samples.anchorMs);
  return {
    rounds: raw.options.explainRounds,
    anchor: {
      commands: raw.anchorCommands ?? 0,
      ms: rounded(anchor),
      steps: Object.entries(samples.anchorStepMs).map(([label, ms]) => ({
        label,
        p50Ms: round3(latencySummary(ms)?.p50 ?? 0),
      })),
    },
    addresses: EXPLAIN_KEYS.flatMap((key) => {
      const subject = raw.subjects?.explain.find((s) => s.key === key);
      if (!subject) return [];
      const ms = latencySummary(samples.ms[key]);
      return [
        {
          key,
          label: subject.label,
          address: subject.address,
          kind: subject.kind,
          ms: rounded(ms),
          ratio: ratios(ms, anchor),
        },
      ];
    }),
  };
}

function countVerdicts(verdicts: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of verdicts) out[v] = (out[v] ?? 0) + 1;
  return out;
}

function traceFigures(raw: RawResults, samples: TraceSamples): TraceFigures {
  return {
    rounds: raw.options.traceRounds,
    destinations: TRACE_KEYS.flatMap((key) => {
      const subject = raw.subjects?.trace.find((s) => s.key === key);
      if (!subject) return [];
      const s = samples[key];
      const verified = latencySummary(s.verified);
      const noProbe = latencySummary(s.noProbe);
      const probe = latencySummary(s.probe);
      return [
        {
          key,
          label: subject.label,
          address: subject.address,
          port: subject.port,
          verifiedMs: rounded(verified),
          noProbeMs: rounded(noProbe),
          probeMs: rounded(probe),
          verdicts: countVerdicts(s.verdicts),
          ratio: { verified: ratios(verified, probe), noProbe: ratios(noProbe, probe) },
          verificationP50Ms: verified && noProbe ? round3(verified.p50 - noProbe.p50) : null,
        },
      ];
    }),
  };
}

function p50s<K extends string>(
  keys: readonly K[],
  samples: (k: K) => readonly number[],
): Record<K, number | null> {
  const out = {} as Record<K, number | null>;
  for (const k of keys) out[k] = latencySummary(samples(k))?.p50 ?? null;
  return out;
}

export function buildReport(raw: RawResults): BenchReport {
  const asked = (p: Part) => raw.options.parts.includes(p);
  const explain = raw.explain;
  const trace = raw.trace;
  return {
    benchmark: "podnet-diagnosis",
    startedAt: raw.startedAt,
    durationSeconds: round3(raw.durationSeconds),
    machine: raw.machine,
    podnet: raw.podnet,
    options: raw.options,
    lab: raw.lab ?? null,
    explain: explain ? explainReport(raw, explain) : null,
    trace: trace ? traceFigures(raw, trace) : null,
    targets: judgeTargets({
      ...(asked("explain") ? { explainP50Ms: explain ? p50s(EXPLAIN_KEYS, (k) => explain.ms[k]) : {} } : {}),
      ...(asked("trace")
        ? { verifiedTraceP50Ms: trace ? p50s(TRACE_KEYS, (k) => trace[k].verified) : {} }
        : {}),
    }),
    failures: failureReport(raw.failures),
  };
}

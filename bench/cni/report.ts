/**
 * Turns the raw samples into the report (JSON) and the table printed for a human (pure).
 * Every ratio is podnet / reference: below 1 podnet is faster or smaller for latency and memory,
 * above 1 podnet is faster for throughput.
 */

import type { FailureReport } from "../support/failures.ts";
import { failureReport } from "../support/failures.ts";
import type { RatioSummary, Summary } from "../support/stats.ts";
import { ratio, ratioOfSummaries, round3, roundSummary, summarize } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import { judge } from "../support/targets.ts";
import type { Baselines } from "./baseline.ts";
import type { SerialSamples } from "./latency.ts";
import type { Calibration } from "./memory.ts";
import type { SubjectKey } from "./subjects.ts";
import type { PhaseRun, ThroughputRound } from "./throughput.ts";
import { podsPerSecond } from "./throughput.ts";

/** What podnet aims for against the reference plugins. */
export const TARGETS = {
  addP50Ratio: { max: 0.8, text: "≤ 0.8" },
  addThroughputRatio: { min: 1.5, text: "≥ 1.5" },
} as const;

export interface SubjectInfo {
  readonly description: string;
  readonly binary: string;
  /** The binary's modification time: which build these figures belong to. */
  readonly binaryModified: string;
  readonly conflist: unknown;
}

export interface RawResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: { readonly cpus: number; readonly kernel: string; readonly bun: string };
  readonly subjects: Readonly<Record<SubjectKey, SubjectInfo>>;
  readonly cniVersion: string;
  readonly options: {
    readonly pods: number;
    readonly batch: number;
    readonly warmup: number;
    readonly throughputPods: number;
    readonly concurrency: number;
    readonly throughputRounds: number;
    readonly memorySamples: number;
  };
  readonly baselines: Baselines;
  readonly latency: Readonly<Record<SubjectKey, SerialSamples>>;
  readonly throughput: Readonly<Record<SubjectKey, readonly ThroughputRound[]>>;
  readonly memory:
    | {
        readonly method: "gnu-time";
        readonly calibration: Calibration;
        readonly kib: Readonly<Record<SubjectKey, readonly number[]>>;
      }
    | { readonly method: "none"; readonly reason: string; readonly calibration: Calibration };
  readonly failures: readonly string[];
}

export interface Comparison {
  readonly podnet: Summary;
  readonly reference: Summary;
  readonly ratio: RatioSummary;
  /** p50 ratio after taking the launcher's p50 off both sides (approximate: medians do not subtract exactly). */
  readonly p50RatioExcludingLauncher: number | null;
}

export interface RateComparison {
  readonly podnet: number;
  readonly reference: number;
  readonly ratio: number | null;
}

export interface BenchReport {
  readonly benchmark: "podnet-cni";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: RawResults["machine"];
  readonly cniVersion: string;
  readonly subjects: RawResults["subjects"];
  readonly options: RawResults["options"];
  readonly launcherMs: Summary;
  /** VERSION calls: start-up and exit only, no kernel or state work. */
  readonly latencyMs: { readonly add: Comparison; readonly del: Comparison; readonly version: Comparison };
  readonly throughputPodsPerSecond: {
    readonly add: RateComparison;
    readonly del: RateComparison;
    readonly rounds: Readonly<Record<SubjectKey, readonly ReportRound[]>>;
  };
  readonly memory:
    | {
        readonly method: "gnu-time";
        readonly calibration: Calibration;
        readonly peakRssMiB: {
          readonly podnet: Summary;
          readonly reference: Summary;
          readonly p50Ratio: number | null;
        };
      }
    | { readonly method: "none"; readonly reason: string; readonly calibration: Calibration };
  readonly targets: readonly TargetCheck[];
  readonly failures: FailureReport;
}

const r3 = (v: number | null): number | null => (v === null ? null : round3(v));

function compare(
  podnetMs: readonly number[],
  referenceMs: readonly number[],
  launcher: Summary,
  what: string,
): Comparison {
  const p = summarize(podnetMs, `podnet ${what}`);
  const r = summarize(referenceMs, `reference ${what}`);
  const q = ratioOfSummaries(p, r);
  return {
    podnet: roundSummary(p),
    reference: roundSummary(r),
    ratio: { min: r3(q.min), p50: r3(q.p50), p99: r3(q.p99) },
    p50RatioExcludingLauncher: r3(ratio(p.p50 - launcher.p50, r.p50 - launcher.p50)),
  };
}

function rates(rounds: RawResults["throughput"], phase: "add" | "del"): RateComparison {
  const p = podsPerSecond(rounds.podnet.map((r) => r[phase]));
  const r = podsPerSecond(rounds.reference.map((x) => x[phase]));
  return { podnet: round3(p), reference: round3(r), ratio: r3(ratio(p, r)) };
}

export interface ReportPhase {
  readonly pods: number;
  readonly succeeded: number;
  readonly seconds: number;
  readonly podsPerSecond: number;
  /** Latency of one operation while the others ran alongside. */
  readonly opP50Ms: number | null;
  readonly opP99Ms: number | null;
}

export interface ReportRound {
  readonly add: ReportPhase;
  readonly del: ReportPhase;
}

function reportPhase(p: PhaseRun): ReportPhase {
  const ops = p.opMs.length > 0 ? summarize(p.opMs) : undefined;
  return {
    pods: p.pods,
    succeeded: p.succeeded,
    seconds: round3(p.seconds),
    podsPerSecond: round3(podsPerSecond([p])),
    opP50Ms: ops ? round3(ops.p50) : null,
    opP99Ms: ops ? round3(ops.p99) : null,
  };
}

function reportRounds(rounds: RawResults["throughput"]): Record<SubjectKey, ReportRound[]> {
  const each = (list: readonly ThroughputRound[]) =>
    list.map((t) => ({ add: reportPhase(t.add), del: reportPhase(t.del) }));
  return { podnet: each(rounds.podnet), reference: each(rounds.reference) };
}

const toMiB = (kib: readonly number[]): number[] => kib.map((k) => k / 1024);

export function buildReport(raw: RawResults): BenchReport {
  const launcher = summarize(raw.baselines.launcherMs, "launcher");
  const add = compare(raw.latency.podnet.add, raw.latency.reference.add, launcher, "ADD latency");
  const del = compare(raw.latency.podnet.del, raw.latency.reference.del, launcher, "DEL latency");
  const addRate = rates(raw.throughput, "add");
  const memory: BenchReport["memory"] =
    raw.memory.method === "gnu-time"
      ? (() => {
          const p = summarize(toMiB(raw.memory.kib.podnet), "podnet peak RSS");
          const r = summarize(toMiB(raw.memory.kib.reference), "reference peak RSS");
          return {
            method: "gnu-time" as const,
            calibration: raw.memory.calibration,
            peakRssMiB: {
              podnet: roundSummary(p),
              reference: roundSummary(r),
              p50Ratio: r3(ratio(p.p50, r.p50)),
            },
          };
        })()
      : raw.memory;
  return {
    benchmark: "podnet-cni",
    startedAt: raw.startedAt,
    durationSeconds: round3(raw.durationSeconds),
    machine: raw.machine,
    cniVersion: raw.cniVersion,
    subjects: raw.subjects,
    options: raw.options,
    launcherMs: roundSummary(launcher),
    latencyMs: {
      add,
      del,
      version: compare(
        raw.baselines.versionMs.podnet,
        raw.baselines.versionMs.reference,
        launcher,
        "VERSION latency",
      ),
    },
    throughputPodsPerSecond: {
      add: addRate,
      del: rates(raw.throughput, "del"),
      rounds: reportRounds(raw.throughput),
    },
    memory,
    targets: [
      judge("ADD p50 latency ratio", add.ratio.p50, TARGETS.addP50Ratio, 2),
      judge(
        `ADD throughput ratio (concurrency ${raw.options.concurrency})`,
        addRate.ratio,
        TARGETS.addThroughputRatio,
        2,
      ),
    ],
    failures: failureReport(raw.failures),
  };
}

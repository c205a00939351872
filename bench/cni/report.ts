/**
 * Turns the raw samples into the report (JSON) and the table printed for a human (pure).
 * Every ratio is a podnet subject over the reference: below 1 podnet is faster or smaller for
 * latency and memory, above 1 podnet is faster for throughput.
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
import type { PodnetKey, SubjectKey } from "./subjects.ts";
import { LABELS, PODNET_SUBJECTS, SUBJECTS } from "./subjects.ts";
import type { PhaseRun, ThroughputRound } from "./throughput.ts";
import { podsPerSecond } from "./throughput.ts";

/** What podnet aims for against the reference plugins (issue 9's targets). */
export const TARGETS = {
  addP50Ratio: { max: 1.0, text: "≤ 1.0" },
  addThroughputRatio: { min: 1.2, text: "≥ 1.2" },
  addPeakRssMiB: { max: 30, text: "≤ 30 MiB" },
} as const;

export interface SubjectInfo {
  readonly description: string;
  readonly binary: string;
  /** The binary's modification time: which build these figures belong to. */
  readonly binaryModified: string;
  readonly conflist: unknown;
}

type PerSubject<T> = Readonly<Record<SubjectKey, T>>;
type PerPodnet<T> = Readonly<Record<PodnetKey, T>>;

export interface RawResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: { readonly cpus: number; readonly kernel: string; readonly bun: string };
  readonly subjects: PerSubject<SubjectInfo>;
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
  readonly latency: PerSubject<SerialSamples>;
  readonly throughput: PerSubject<readonly ThroughputRound[]>;
  readonly memory:
    | {
        readonly method: "gnu-time";
        readonly calibration: Calibration;
        readonly kib: PerSubject<readonly number[]>;
        readonly floorKiB: readonly number[];
      }
    | { readonly method: "none"; readonly reason: string; readonly calibration: Calibration };
  /** The node agent's resident memory at the end of the run (VmRSS, VmHWM), KiB. */
  readonly agentMemoryKiB: { readonly rss: number; readonly peak: number } | undefined;
  readonly failures: readonly string[];
}

export interface Comparison {
  readonly summaries: PerSubject<Summary>;
  readonly ratio: PerPodnet<RatioSummary>;
  /** p50 ratio after taking the launcher's p50 off both sides (approximate: medians do not subtract exactly). */
  readonly p50RatioExcludingLauncher: PerPodnet<number | null>;
}

export interface RateComparison {
  readonly podsPerSecond: PerSubject<number>;
  readonly ratio: PerPodnet<number | null>;
}

export interface StartupFloor {
  /** VERSION of the trivial compiled Bun program, through the same launcher. */
  readonly versionMs: Summary;
  /** p50 VERSION of each subject less the floor's p50: what its own code costs at start-up. */
  readonly aboveFloorP50Ms: PerSubject<number>;
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
  readonly startupFloor: StartupFloor;
  readonly throughputPodsPerSecond: {
    readonly add: RateComparison;
    readonly del: RateComparison;
    readonly rounds: PerSubject<readonly ReportRound[]>;
  };
  readonly memory:
    | {
        readonly method: "gnu-time";
        readonly calibration: Calibration;
        readonly peakRssMiB: PerSubject<Summary> & { readonly floor: Summary };
        readonly p50Ratio: PerPodnet<number | null>;
      }
    | { readonly method: "none"; readonly reason: string; readonly calibration: Calibration };
  readonly agentMemoryMiB: { readonly rss: number; readonly peak: number } | null;
  readonly targets: readonly TargetCheck[];
  readonly failures: FailureReport;
}

const r3 = (v: number | null): number | null => (v === null ? null : round3(v));

function perSubject<T>(f: (key: SubjectKey) => T): Record<SubjectKey, T> {
  return Object.fromEntries(SUBJECTS.map((k) => [k, f(k)])) as Record<SubjectKey, T>;
}

function perPodnet<T>(f: (key: PodnetKey) => T): Record<PodnetKey, T> {
  return Object.fromEntries(PODNET_SUBJECTS.map((k) => [k, f(k)])) as Record<PodnetKey, T>;
}

function compare(samples: PerSubject<readonly number[]>, launcher: Summary, what: string): Comparison {
  const s = perSubject((k) => summarize(samples[k], `${LABELS[k]} ${what}`));
  const ref = s.reference;
  return {
    summaries: perSubject((k) => roundSummary(s[k])),
    ratio: perPodnet((k) => {
      const q = ratioOfSummaries(s[k], ref);
      return { min: r3(q.min), p50: r3(q.p50), p99: r3(q.p99) };
    }),
    p50RatioExcludingLauncher: perPodnet((k) => r3(ratio(s[k].p50 - launcher.p50, ref.p50 - launcher.p50))),
  };
}

function rates(rounds: RawResults["throughput"], phase: "add" | "del"): RateComparison {
  const pps = perSubject((k) => podsPerSecond(rounds[k].map((r) => r[phase])));
  return {
    podsPerSecond: perSubject((k) => round3(pps[k])),
    ratio: perPodnet((k) => r3(ratio(pps[k], pps.reference))),
  };
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

const toMiB = (kib: readonly number[]): number[] => kib.map((k) => k / 1024);

function memoryReport(raw: RawResults): BenchReport["memory"] {
  const m = raw.memory;
  if (m.method !== "gnu-time") return m;
  const s = perSubject((k) => summarize(toMiB(m.kib[k]), `${LABELS[k]} peak RSS`));
  const floor = summarize(toMiB(m.floorKiB), "floor peak RSS");
  return {
    method: "gnu-time",
    calibration: m.calibration,
    peakRssMiB: { ...perSubject((k) => roundSummary(s[k])), floor: roundSummary(floor) },
    p50Ratio: perPodnet((k) => r3(ratio(s[k].p50, s.reference.p50))),
  };
}

function targets(
  raw: RawResults,
  add: Comparison,
  addRate: RateComparison,
  memory: BenchReport["memory"],
): TargetCheck[] {
  return PODNET_SUBJECTS.flatMap((k) => [
    judge(`${LABELS[k]}: ADD p50 latency ratio`, add.ratio[k].p50, TARGETS.addP50Ratio, 2),
    judge(
      `${LABELS[k]}: ADD throughput ratio (concurrency ${raw.options.concurrency})`,
      addRate.ratio[k],
      TARGETS.addThroughputRatio,
      2,
    ),
    judge(
      `${LABELS[k]}: peak RSS of one ADD, p50`,
      memory.method === "gnu-time" ? memory.peakRssMiB[k].p50 : null,
      TARGETS.addPeakRssMiB,
      1,
    ),
  ]);
}

export function buildReport(raw: RawResults): BenchReport {
  const launcher = summarize(raw.baselines.launcherMs, "launcher");
  const latency = (op: "add" | "del") => perSubject((k) => raw.latency[k][op]);
  const add = compare(latency("add"), launcher, "ADD latency");
  const version = compare(raw.baselines.versionMs, launcher, "VERSION latency");
  const floor = summarize(raw.baselines.floorVersionMs, "floor VERSION");
  const addRate = rates(raw.throughput, "add");
  const memory = memoryReport(raw);
  const agent = raw.agentMemoryKiB;
  return {
    benchmark: "podnet-cni",
    startedAt: raw.startedAt,
    durationSeconds: round3(raw.durationSeconds),
    machine: raw.machine,
    cniVersion: raw.cniVersion,
    subjects: raw.subjects,
    options: raw.options,
    launcherMs: roundSummary(launcher),
    latencyMs: { add, del: compare(latency("del"), launcher, "DEL latency"), version },
    startupFloor: {
      versionMs: roundSummary(floor),
      aboveFloorP50Ms: perSubject((k) => round3(version.summaries[k].p50 - floor.p50)),
    },
    throughputPodsPerSecond: {
      add: addRate,
      del: rates(raw.throughput, "del"),
      rounds: perSubject((k) =>
        raw.throughput[k].map((t) => ({ add: reportPhase(t.add), del: reportPhase(t.del) })),
      ),
    },
    memory,
    agentMemoryMiB: agent ? { rss: round3(agent.rss / 1024), peak: round3(agent.peak / 1024) } : null,
    targets: targets(raw, add, addRate, memory),
    failures: failureReport(raw.failures),
  };
}

/**
 * Turns the proxy benchmark's raw measurements into its report (JSON), judged against podnet's
 * targets on unrounded values (pure). Latency ratios are large table / small table for the same
 * ruleset layout: 1 would mean the table's size costs a new connection nothing.
 */
import type { FailureReport } from "../support/failures.ts";
import { failureReport } from "../support/failures.ts";
import type { Machine } from "../support/machine.ts";
import type { Summary } from "../support/stats.ts";
import { ratio, round3, roundSummary, summarize } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import { judge } from "../support/targets.ts";
import type { LatencyCase, Subject } from "./latency-bench.ts";
import type { MemoryResult } from "./memory-bench.ts";
import type { SyncRun } from "./sync-bench.ts";

export type Part = "sync" | "latency" | "memory";
export const PARTS: readonly Part[] = ["sync", "latency", "memory"];

const MB_IN_MIB = 1e6 / 2 ** 20;

/** What podnet aims for in the proxy benchmark. */
export const TARGETS = {
  fullSyncMs: { max: 2000, text: "≤ 2000 ms" },
  incrementalMs: { max: 100, text: "≤ 100 ms" },
  rssMiB: { max: 200 * MB_IN_MIB, text: "≤ 200 MB (190.7 MiB)" },
  latencyRatio: { max: 1.2, text: "≤ 1.2" },
} as const;

export interface BenchOptions {
  readonly parts: readonly Part[];
  readonly sizes: readonly number[];
  readonly endpointsPerService: number;
  readonly repetitions: number;
  readonly changes: number;
  readonly latencySizes: readonly number[];
  readonly connections: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly memoryServices: number;
  readonly seed: number;
}

export interface RawResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine & { readonly nft: string };
  readonly options: BenchOptions;
  /** Median of an empty `nft -f` through `ip netns exec`: inside every apply figure. */
  readonly nftStartMs: number | null;
  readonly sync: readonly SyncRun[];
  readonly latency: readonly LatencyCase[];
  readonly memory: MemoryResult | null;
  readonly failures: readonly string[];
}

export interface FullSyncReport {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly renderMs: Summary;
  readonly applyMs: Summary;
  readonly totalMs: Summary;
  readonly textMiB: number;
  readonly textLines: number;
  readonly problems: number;
}

export interface IncrementalReport {
  readonly services: number;
  readonly renderMs: Summary;
  readonly applyMs: Summary;
  readonly totalMs: Summary;
  readonly transactionLines: Summary;
}

export interface LatencyCaseReport {
  readonly subject: Subject;
  readonly services: number;
  readonly rulesetMiB: number;
  readonly loadMs: number;
  /** Every measured connection (last and random targets together). */
  readonly connectMs: Summary | null;
  readonly firstByteMs: Summary | null;
  readonly lastConnectMs: Summary | null;
  readonly randomConnectMs: Summary | null;
  readonly errors: number;
  readonly wrongEndpoint: number;
  readonly firstErrors: readonly string[];
}

export interface LatencyRatio {
  readonly small: number;
  readonly large: number;
  /** large / small of the connect figures, and of first byte. */
  readonly connectP50: number | null;
  readonly connectP99: number | null;
  readonly firstByteP50: number | null;
}

export interface BenchReport {
  readonly benchmark: "podnet-proxy";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: RawResults["machine"];
  readonly options: BenchOptions;
  readonly nftStartMs: number | null;
  readonly fullSync: readonly FullSyncReport[];
  readonly incremental: readonly IncrementalReport[];
  readonly latency: {
    readonly cases: readonly LatencyCaseReport[];
    readonly ratios: Readonly<Record<Subject, LatencyRatio | null>>;
  };
  readonly memory: MemoryResult | null;
  readonly targets: readonly TargetCheck[];
  readonly failures: FailureReport;
}

const maybeSummary = (v: readonly number[], what: string): Summary | null =>
  v.length > 0 ? summarize(v, what) : null;
const roundedOrNull = (s: Summary | null): Summary | null => (s === null ? null : roundSummary(s));
const r3 = (v: number | null): number | null => (v === null ? null : round3(v));

function latencyCase(c: LatencyCase): {
  report: LatencyCaseReport;
  connect: Summary | null;
  firstByte: Summary | null;
} {
  const label = `${c.subject} ${c.services}`;
  const connect = maybeSummary([...c.connectMs.last, ...c.connectMs.random], `${label} connect`);
  const firstByte = maybeSummary([...c.firstByteMs.last, ...c.firstByteMs.random], `${label} first byte`);
  return {
    connect,
    firstByte,
    report: {
      subject: c.subject,
      services: c.services,
      rulesetMiB: round3(c.rulesetBytes / 2 ** 20),
      loadMs: round3(c.loadMs),
      connectMs: roundedOrNull(connect),
      firstByteMs: roundedOrNull(firstByte),
      lastConnectMs: roundedOrNull(maybeSummary(c.connectMs.last, `${label} last`)),
      randomConnectMs: roundedOrNull(maybeSummary(c.connectMs.random, `${label} random`)),
      errors: c.errors,
      wrongEndpoint: c.wrongEndpoint,
      firstErrors: c.firstErrors,
    },
  };
}

/** Unrounded large/small ratios of one subject, or null when either size has no samples. */
export function latencyRatio(
  cases: readonly LatencyCase[],
  subject: Subject,
  sizes: readonly number[],
): LatencyRatio | null {
  if (sizes.length < 2) return null;
  const small = Math.min(...sizes);
  const large = Math.max(...sizes);
  const find = (n: number) => cases.find((c) => c.subject === subject && c.services === n);
  const a = find(small);
  const b = find(large);
  if (a === undefined || b === undefined) return null;
  const sa = latencyCase(a);
  const sb = latencyCase(b);
  if (!sa.connect || !sb.connect || !sa.firstByte || !sb.firstByte) return null;
  return {
    small,
    large,
    connectP50: ratio(sb.connect.p50, sa.connect.p50),
    connectP99: ratio(sb.connect.p99, sa.connect.p99),
    firstByteP50: ratio(sb.firstByte.p50, sa.firstByte.p50),
  };
}

export function judgeTargets(raw: RawResults): TargetCheck[] {
  const o = raw.options;
  const out: TargetCheck[] = [];
  if (o.parts.includes("sync")) {
    const large = Math.max(...o.sizes);
    const run = raw.sync.find((s) => s.full.services === large);
    const full = run && run.full.totalMs.length > 0 ? summarize(run.full.totalMs).p50 : null;
    const inc = run?.incremental?.totalMs.length ? summarize(run.incremental.totalMs).p50 : null;
    out.push(
      judge(`full sync, ${large} Services, median ms`, full, TARGETS.fullSyncMs, 0),
      judge(`incremental sync, ${large} Services, median ms`, inc, TARGETS.incrementalMs, 1),
    );
  }
  if (o.parts.includes("memory")) {
    const rss = raw.memory?.rssMiB ?? null;
    out.push(judge(`proxy RSS, ${o.memoryServices} Services, MiB`, rss, TARGETS.rssMiB, 1));
  }
  if (o.parts.includes("latency")) {
    const r = latencyRatio(raw.latency, "podnet", o.latencySizes);
    const small = Math.min(...o.latencySizes);
    const large = Math.max(...o.latencySizes);
    out.push(
      judge(
        `podnet connect p50, ${large} / ${small} Services`,
        r?.connectP50 ?? null,
        TARGETS.latencyRatio,
        2,
      ),
    );
  }
  return out;
}

export function buildReport(raw: RawResults): BenchReport {
  const fullSync: FullSyncReport[] = raw.sync.map(({ full }) => ({
    services: full.services,
    endpointsPerService: full.endpointsPerService,
    renderMs: roundSummary(summarize(full.renderMs, "full-sync renders")),
    applyMs: roundSummary(summarize(full.applyMs, "full-sync applies")),
    totalMs: roundSummary(summarize(full.totalMs, "full syncs")),
    textMiB: round3(full.textBytes / 2 ** 20),
    textLines: full.textLines,
    problems: full.problems,
  }));
  const incremental: IncrementalReport[] = raw.sync.flatMap(({ incremental: inc }) =>
    inc === null || inc.totalMs.length === 0
      ? []
      : [
          {
            services: inc.services,
            renderMs: roundSummary(summarize(inc.renderMs, "incremental renders")),
            applyMs: roundSummary(summarize(inc.applyMs, "incremental applies")),
            totalMs: roundSummary(summarize(inc.totalMs, "incremental syncs")),
            transactionLines: roundSummary(summarize(inc.transactionLines, "transactions")),
          },
        ],
  );
  const roundedRatio = (subject: Subject): LatencyRatio | null => {
    const r = latencyRatio(raw.latency, subject, raw.options.latencySizes);
    return r === null
      ? null
      : {
          ...r,
          connectP50: r3(r.connectP50),
          connectP99: r3(r.connectP99),
          firstByteP50: r3(r.firstByteP50),
        };
  };
  const m = raw.memory;
  return {
    benchmark: "podnet-proxy",
    startedAt: raw.startedAt,
    durationSeconds: round3(raw.durationSeconds),
    machine: raw.machine,
    options: raw.options,
    nftStartMs: r3(raw.nftStartMs),
    fullSync,
    incremental,
    latency: {
      cases: raw.latency.map((c) => latencyCase(c).report),
      ratios: { podnet: roundedRatio("podnet"), iptables: roundedRatio("iptables") },
    },
    memory:
      m === null
        ? null
        : {
            ...m,
            startRssMiB: round3(m.startRssMiB),
            rssMiB: round3(m.rssMiB),
            vmRssMiB: round3(m.vmRssMiB),
            vmHwmMiB: round3(m.vmHwmMiB),
            heapUsedMiB: round3(m.heapUsedMiB),
            textMiB: round3(m.textMiB),
            workMs: round3(m.workMs),
          },
    targets: judgeTargets(raw),
    failures: failureReport(raw.failures),
  };
}

/**
 * Turns the proxy benchmark's raw measurements into its report (JSON), judged against podnet's
 * targets on unrounded values (pure). The connection-setup part is in latency-report.ts, the rows
 * through ProxyState in incremental-report.ts, the agent's memory in agent-memory-report.ts.
 */

import type { PodnetBuild } from "../support/bench-run.ts";
import type { FailureReport } from "../support/failures.ts";
import { failureReport } from "../support/failures.ts";
import type { Machine } from "../support/machine.ts";
import type { Summary } from "../support/stats.ts";
import { round3, roundSummary, summarize } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import { judge } from "../support/targets.ts";
import type { AgentMemoryResult } from "./agent-memory.ts";
import type { AgentMemoryReport } from "./agent-memory-report.ts";
import { AGENT_PROXY_TARGET, agentMemoryReport, proxyShare } from "./agent-memory-report.ts";
import type { ApplyPath, FlatnessRatio, StateSyncReport, StateSyncRun } from "./incremental-report.ts";
import {
  APPLY_PATHS,
  FLATNESS_TARGET,
  flatnessRatio,
  roundFlatness,
  stateSyncReport,
} from "./incremental-report.ts";
import type { LatencyCase, Subject } from "./latency-bench.ts";
import type { LatencyCaseReport, LatencyRatio } from "./latency-report.ts";
import { LOAD_RATIO_TARGET, latencyCase, latencyRatio, loadRatio } from "./latency-report.ts";
import type { MemoryResult } from "./memory-bench.ts";
import type { NftFloor } from "./nft-apply.ts";
import type { SyncRun } from "./sync-bench.ts";

export type Part = "sync" | "latency" | "memory" | "agent-memory";
export const PARTS: readonly Part[] = ["sync", "latency", "memory", "agent-memory"];

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
  /** Services per burst, bursts per size and apply path (through ProxyState). */
  readonly burst: number;
  readonly bursts: number;
  /** Whether ProxyState's transactions also go through an `nft -i` session. */
  readonly nftSession: boolean;
  readonly latencySizes: readonly number[];
  readonly connections: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly memoryServices: number;
  /** How long the agents run on once the table is complete before they are measured. */
  readonly agentSettleSeconds: number;
  readonly seed: number;
}

/** The launcher's and nft's start, measured apart (medians, ms), and nft's own share. */
export interface NftFloorReport extends NftFloor {
  /** nft -f /dev/null − ip netns exec true. */
  readonly nftOwnStartMs: number;
}

export interface RawResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine & { readonly nft: string };
  readonly options: BenchOptions;
  /** The podnet build whose agent was measured (agent-memory part), else null. */
  readonly podnet: PodnetBuild | null;
  /** What every apply figure includes before nft reads its first line. */
  readonly nftFloor: NftFloor | null;
  readonly sync: readonly SyncRun[];
  readonly latency: readonly LatencyCase[];
  readonly memory: MemoryResult | null;
  readonly agentMemory: AgentMemoryResult | null;
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

const r3 = (v: number | null): number | null => (v === null ? null : round3(v));

export interface BenchReport {
  readonly benchmark: "podnet-proxy";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: RawResults["machine"];
  readonly options: BenchOptions;
  readonly podnet: PodnetBuild | null;
  /** Median of an empty transaction on nft's stdin through `ip netns exec` (nftFloor's last). */
  readonly nftStartMs: number | null;
  readonly nftFloor: NftFloorReport | null;
  readonly fullSync: readonly FullSyncReport[];
  /** The reference: renderRuleset with the previous ruleset + diffRulesets. */
  readonly incremental: readonly IncrementalReport[];
  /** Through ProxyState: single changes and bursts, per apply path. */
  readonly stateSync: readonly StateSyncReport[];
  /** Single-change total p50, largest size / smallest, per apply path. */
  readonly flatness: readonly FlatnessRatio[];
  readonly latency: {
    readonly cases: readonly LatencyCaseReport[];
    readonly ratios: Readonly<Record<Subject, LatencyRatio | null>>;
    /**
     * The large table's full load, podnet / the iptables layout's `nft -f` into a fresh namespace,
     * same run: podnet as the agent syncs (replaceTable into an empty namespace; judged). Before
     * the netlink path, podnet's figure was its `nft -f` (now nftFileRatio).
     */
    readonly loadRatio: number | null;
    /** podnet's replaceTable over its live table of the same size / the iptables layout's load. */
    readonly replaceRatio?: number | null;
    /** podnet's whole text through `nft -f` into a fresh namespace / the iptables layout's load. */
    readonly nftFileRatio?: number | null;
  };
  readonly memory: MemoryResult | null;
  readonly agentMemory: AgentMemoryReport | null;
  readonly targets: readonly TargetCheck[];
  readonly failures: FailureReport;
}

const appliedPaths = (o: BenchOptions): readonly ApplyPath[] =>
  o.nftSession ? APPLY_PATHS : APPLY_PATHS.filter((p) => p !== "nft -i");

const stateRuns = (raw: RawResults): StateSyncRun[] =>
  raw.sync.flatMap((s) => s.state).filter((r) => r.totalMs.length > 0);

/** The flatness of each apply path between the smallest and the largest size, rounded. */
function flatness(raw: RawResults): FlatnessRatio[] {
  const small = Math.min(...raw.options.sizes);
  const large = Math.max(...raw.options.sizes);
  return appliedPaths(raw.options).flatMap((path) => {
    const f = flatnessRatio(stateRuns(raw), path, small, large);
    return f === null ? [] : [roundFlatness(f)];
  });
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
    const small = Math.min(...o.sizes);
    if (small !== large)
      for (const path of appliedPaths(o)) {
        const f = flatnessRatio(stateRuns(raw), path, small, large);
        out.push(
          judge(
            `incremental through ProxyState (${path}) total p50, ${large} / ${small} Services`,
            f?.ratio ?? null,
            FLATNESS_TARGET,
            2,
          ),
        );
      }
  }
  if (o.parts.includes("memory")) {
    const rss = raw.memory?.rssMiB ?? null;
    out.push(judge(`proxy RSS, ${o.memoryServices} Services, MiB`, rss, TARGETS.rssMiB, 1));
  }
  if (o.parts.includes("agent-memory")) {
    const share = proxyShare(raw.agentMemory);
    const what = `proxy's share of the agent, ${o.memoryServices} Services`;
    out.push(
      judge(`${what}, resident MiB`, share?.rssMiB ?? null, AGENT_PROXY_TARGET, 1),
      judge(`${what}, peak MiB`, share?.hwmMiB ?? null, AGENT_PROXY_TARGET, 1),
    );
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
      judge(
        `full load (as the agent syncs), podnet / iptables layout, ${large} Services`,
        loadRatio(raw.latency, large),
        LOAD_RATIO_TARGET,
        3,
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
  const largeLatency = Math.max(...raw.options.latencySizes);
  const m = raw.memory;
  const floor = raw.nftFloor;
  return {
    benchmark: "podnet-proxy",
    startedAt: raw.startedAt,
    durationSeconds: round3(raw.durationSeconds),
    machine: raw.machine,
    options: raw.options,
    podnet: raw.podnet,
    nftStartMs: r3(floor?.nftEmptyStdinMs ?? null),
    nftFloor:
      floor === null
        ? null
        : {
            netnsExecMs: round3(floor.netnsExecMs),
            nftDevNullMs: round3(floor.nftDevNullMs),
            nftEmptyStdinMs: round3(floor.nftEmptyStdinMs),
            nftOwnStartMs: round3(floor.nftDevNullMs - floor.netnsExecMs),
          },
    fullSync,
    incremental,
    stateSync: stateRuns(raw).map(stateSyncReport),
    flatness: flatness(raw),
    latency: {
      cases: raw.latency.map((c) => latencyCase(c).report),
      ratios: { podnet: roundedRatio("podnet"), iptables: roundedRatio("iptables") },
      loadRatio: r3(loadRatio(raw.latency, largeLatency)),
      replaceRatio: r3(loadRatio(raw.latency, largeLatency, "replaceMs")),
      nftFileRatio: r3(loadRatio(raw.latency, largeLatency, "nftFileMs")),
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
    agentMemory: agentMemoryReport(raw.agentMemory),
    targets: judgeTargets(raw),
    failures: failureReport(raw.failures),
  };
}

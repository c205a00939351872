/**
 * Turns the raw measurements into the report (JSON) judged against podnet's targets (pure).
 * Throughput ratios are podnet / raw underlay: 1 would mean podnet costs nothing.
 */
import type { Backend } from "../../src/cluster/node-record.ts";
import type { FailureReport } from "../support/failures.ts";
import { failureReport } from "../support/failures.ts";
import type { Machine } from "../support/machine.ts";
import type { Summary } from "../support/stats.ts";
import { round3, roundSummary, summarize } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import type { AgentSnapshot } from "./agent-snapshot.ts";
import type { StartTimeline } from "./agent-timeline.ts";
import type { BgpConvergenceRun } from "./bgp-convergence.ts";
import type { BgpReport } from "./bgp-report.ts";
import { bgpThroughputRatios, buildBgpReport } from "./bgp-report.ts";
import type { BgpThroughputRun } from "./bgp-throughput.ts";
import type { LeaseRound } from "./block-leases-bench.ts";
import type { ConvergenceRun } from "./convergence.ts";
import type { LeaseReport } from "./lease-report.ts";
import { leaseReport } from "./lease-report.ts";
import type { PathReport } from "./path-report.ts";
import { meanRatio, pathReports, roundRatios } from "./path-report.ts";
import type { PathKey, ThroughputRun } from "./pod-throughput.ts";
import { PATHS } from "./pod-throughput.ts";
import { judgeTargets } from "./targets.ts";

export type Part = "leases" | "convergence" | "throughput" | "bgp";
export const PARTS: readonly Part[] = ["leases", "convergence", "throughput", "bgp"];

export interface RawResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Machine;
  readonly podnet: {
    readonly binary: string;
    readonly version: string;
    /** The binary's modification time when the run started: which build the figures belong to. */
    readonly modified: string;
    /** Someone rebuilt it during the run: agents started later ran the new build. */
    readonly replacedDuringRun: boolean;
  };
  readonly options: Readonly<Record<string, number | string | readonly string[]>>;
  /** What the run set out to measure, so a part that failed is judged (not met) rather than left out. */
  readonly requested: {
    readonly parts: readonly Part[];
    readonly leaseAgents: number;
    readonly leaseRounds: number;
    readonly nodes: number;
    readonly backends: readonly Backend[];
    readonly bgpNodes: number;
  };
  readonly leases?: {
    readonly agents: number;
    readonly etcdMembers: number;
    readonly rounds: readonly LeaseRound[];
  };
  readonly convergence: readonly ConvergenceRun[];
  readonly throughput?: ThroughputRun;
  readonly bgp?: { readonly convergence?: BgpConvergenceRun; readonly throughput?: BgpThroughputRun };
  readonly failures: readonly string[];
}

export interface SyncFigures extends AgentSnapshot {
  readonly meanSyncMs: number | null;
  /** CPU per route sync (the agent and the programs it ran). */
  readonly cpuMsPerSync: number | null;
}

export interface ConvergenceReport {
  readonly backend: Backend;
  readonly nodes: number;
  readonly convergenceMs: number | null;
  readonly peerArrivalMs: Summary | null;
  readonly missing: readonly string[];
  readonly joiner: {
    readonly node: string;
    readonly block: string;
    readonly readyMs: number;
    readonly timeline: StartTimeline;
  };
  readonly bootSeconds: number;
  readonly meshSeconds: number;
  readonly exampleRoute: string | null;
  readonly memory: {
    readonly agents: number;
    readonly joinerRssMiB: number | null;
    readonly rssMiB: Summary | null;
    readonly peakRssMiB: Summary | null;
  };
  /** No per-sync CPU here: most idle CPU is not syncing (timers, the datastore watch). */
  readonly idle: Omit<SyncFigures, "cpuMsPerSync"> & {
    readonly seconds: number;
    readonly cpuPercent: number;
  };
  readonly join: { readonly peers: SyncFigures; readonly joiner: SyncFigures };
  readonly logProblems: readonly string[];
}

export interface ThroughputReport {
  readonly paths: Partial<Record<PathKey, PathReport>>;
  /** Mean podnet Gbit/s over mean raw Gbit/s. */
  readonly ratio: { readonly hostGw: number | null; readonly vxlan: number | null };
  /** podnet / raw of the same round (raw measured just before). */
  readonly roundRatios: { readonly hostGw: readonly number[]; readonly vxlan: readonly number[] };
}

export interface BenchReport {
  readonly benchmark: "podnet-cluster";
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: RawResults["machine"];
  readonly podnet: RawResults["podnet"];
  readonly options: RawResults["options"];
  readonly leases: LeaseReport | null;
  readonly convergence: readonly ConvergenceReport[];
  readonly throughput: ThroughputReport | null;
  readonly bgp: BgpReport | null;
  readonly targets: readonly TargetCheck[];
  readonly failures: FailureReport;
}

export type { LeaseReport } from "./lease-report.ts";
export type { PathReport } from "./path-report.ts";

const r3 = (v: number | null | undefined): number | null =>
  v === null || v === undefined ? null : round3(v);
const maybeSummary = (v: readonly number[]): Summary | null =>
  v.length > 0 ? roundSummary(summarize(v)) : null;

function syncFigures(s: AgentSnapshot): SyncFigures {
  return {
    syncs: s.syncs,
    syncSeconds: round3(s.syncSeconds),
    errors: s.errors,
    cpuSeconds: round3(s.cpuSeconds),
    agents: s.agents,
    meanSyncMs: s.syncs > 0 ? round3((s.syncSeconds * 1000) / s.syncs) : null,
    cpuMsPerSync: s.syncs > 0 ? round3((s.cpuSeconds * 1000) / s.syncs) : null,
  };
}

function idleFigures(s: AgentSnapshot): Omit<SyncFigures, "cpuMsPerSync"> {
  const { cpuMsPerSync: _notPerSync, ...rest } = syncFigures(s);
  return rest;
}

function convergenceReport(c: ConvergenceRun): ConvergenceReport {
  const toMiB = (kib: number) => kib / 1024;
  return {
    backend: c.backend,
    nodes: c.nodes,
    convergenceMs: r3(c.convergenceMs),
    peerArrivalMs: maybeSummary(c.arrivalsMs),
    missing: c.missing,
    joiner: { ...c.joiner, readyMs: round3(c.joiner.readyMs) },
    bootSeconds: round3(c.bootSeconds),
    meshSeconds: round3(c.meshSeconds),
    exampleRoute: c.exampleRoute ?? null,
    memory: {
      agents: c.memory.all.length,
      joinerRssMiB: c.memory.joiner ? r3(toMiB(c.memory.joiner.rssKiB)) : null,
      rssMiB: maybeSummary(c.memory.all.map((m) => toMiB(m.rssKiB))),
      peakRssMiB: maybeSummary(c.memory.all.map((m) => toMiB(m.peakRssKiB))),
    },
    idle: {
      ...idleFigures(c.idle),
      seconds: round3(c.idle.seconds),
      cpuPercent: round3((100 * c.idle.cpuSeconds) / c.idle.seconds),
    },
    join: { peers: syncFigures(c.join.peers), joiner: syncFigures(c.join.joiner) },
    logProblems: c.logProblems,
  };
}

/** Mean podnet over mean raw, unrounded: targets are judged on these, not on the printed figures. */
function throughputRatios(t: ThroughputRun): { hostGw: number | null; vxlan: number | null } {
  return { hostGw: meanRatio(t, "host-gw", "raw"), vxlan: meanRatio(t, "vxlan", "raw") };
}

function throughputReport(t: ThroughputRun): ThroughputReport {
  const exact = throughputRatios(t);
  return {
    paths: pathReports(t, PATHS),
    ratio: { hostGw: r3(exact.hostGw), vxlan: r3(exact.vxlan) },
    roundRatios: { hostGw: roundRatios(t, "host-gw", "raw"), vxlan: roundRatios(t, "vxlan", "raw") },
  };
}

export function buildReport(raw: RawResults): BenchReport {
  const leases = raw.leases ? leaseReport(raw.leases) : null;
  const convergence = raw.convergence.map(convergenceReport);
  const throughput = raw.throughput ? throughputReport(raw.throughput) : null;
  const bgpRun = raw.requested.parts.includes("bgp") ? (raw.bgp ?? {}) : undefined;
  const bgp = bgpRun ? buildBgpReport(bgpRun.convergence, bgpRun.throughput) : null;
  return {
    benchmark: "podnet-cluster",
    startedAt: raw.startedAt,
    durationSeconds: round3(raw.durationSeconds),
    machine: raw.machine,
    podnet: raw.podnet,
    options: raw.options,
    leases,
    convergence,
    throughput,
    bgp,
    targets: judgeTargets({
      requested: {
        leaseAgents: raw.requested.parts.includes("leases") ? raw.requested.leaseAgents : undefined,
        leaseRounds: raw.requested.leaseRounds,
        nodes: raw.requested.parts.includes("convergence") ? raw.requested.nodes : undefined,
        backends: raw.requested.backends,
        throughput: raw.requested.parts.includes("throughput"),
        bgpNodes: bgpRun ? raw.requested.bgpNodes : undefined,
      },
      leases,
      convergence,
      throughput: raw.throughput ? throughputRatios(raw.throughput) : null,
      bgp,
      bgpRatios: raw.bgp?.throughput ? bgpThroughputRatios(raw.bgp.throughput) : null,
    }),
    failures: failureReport(raw.failures),
  };
}

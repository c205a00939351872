/**
 * The BGP part of the cluster benchmark's report (pure): convergence and withdrawal spreads as
 * summaries over the rounds, and throughput across the router as ratios to the raw routed path.
 */
import type { Summary } from "../support/stats.ts";
import { round3, roundSummary, summarize } from "../support/stats.ts";
import type { BgpConvergenceRun, BgpJoinerTimeline } from "./bgp-convergence.ts";
import type { BgpSpread } from "./bgp-spread.ts";
import type { BgpPathKey, BgpThroughputRun } from "./bgp-throughput.ts";
import { BGP_PATHS } from "./bgp-throughput.ts";
import type { PathReport } from "./path-report.ts";
import { meanRatio, pathReports, roundRatios } from "./path-report.ts";

export interface BgpEventReport {
  readonly samples: number;
  /** Until the router and every node had seen it, over the samples where all did. */
  readonly allMs: Summary | null;
  readonly routerMs: Summary | null;
  /** Every node's time, every sample. */
  readonly nodeMs: Summary | null;
  readonly perSample: readonly {
    readonly round: number;
    readonly routerMs: number | null;
    readonly allMs: number | null;
  }[];
  /** Kernels that never saw it within the deadline, per sample. */
  readonly missing: readonly string[];
}

export interface BgpConvergenceReport {
  readonly nodes: number;
  readonly holdTimeSeconds: number;
  readonly keepaliveSeconds: number;
  readonly bootSeconds: number;
  readonly meshSeconds: number;
  readonly joiner: BgpConvergenceRun["joiner"];
  /** The joiner's spawn → its block in the router's and every other node's kernel. */
  readonly start: BgpEventReport;
  /** Medians over the starts of the joiner's milestones, ms from its spawn. */
  readonly joinerP50Ms: { readonly [K in keyof BgpJoinerTimeline]: number | null };
  /** Per start, in the order of `start.perSample`. */
  readonly joinerTimelines: readonly BgpJoinerTimeline[];
  /** SIGTERM of its agent → the block gone everywhere. */
  readonly cleanStop: BgpEventReport;
  /** Its link cut, agent and BIRD SIGKILLed → the block gone everywhere (hold-time bound). */
  readonly death: BgpEventReport;
  readonly exampleRoute: string | null;
  readonly logProblems: readonly string[];
}

export interface BgpThroughputReport {
  readonly paths: Partial<Record<BgpPathKey, PathReport>>;
  /** Mean Gbit/s over the raw routed path's mean. */
  readonly ratio: {
    readonly static: number | null;
    readonly bgp: number | null;
    readonly vxlan: number | null;
  };
  /** bgp over the pods routed by hand: what BGP costs the data path (nothing, ideally). */
  readonly bgpOverStatic: number | null;
  readonly roundRatios: {
    readonly static: readonly number[];
    readonly bgp: readonly number[];
    readonly vxlan: readonly number[];
  };
}

export interface BgpReport {
  readonly convergence: BgpConvergenceReport | null;
  readonly throughput: BgpThroughputReport | null;
}

const maybeSummary = (v: readonly number[]): Summary | null =>
  v.length > 0 ? roundSummary(summarize(v)) : null;
const r3 = (v: number | null): number | null => (v === null ? null : round3(v));

export function bgpEventReport(spreads: readonly BgpSpread[]): BgpEventReport {
  return {
    samples: spreads.length,
    allMs: maybeSummary(spreads.flatMap((s) => (s.allMs === null ? [] : [s.allMs]))),
    routerMs: maybeSummary(spreads.flatMap((s) => (s.routerMs === null ? [] : [s.routerMs]))),
    nodeMs: maybeSummary(spreads.flatMap((s) => s.nodesMs)),
    perSample: spreads.map((s) => ({ round: s.round, routerMs: r3(s.routerMs), allMs: r3(s.allMs) })),
    missing: spreads.flatMap((s) =>
      s.missing.length > 0 ? [`round ${s.round + 1}: ${s.missing.join(", ")}`] : [],
    ),
  };
}

function p50Of(values: readonly (number | null)[]): number | null {
  const v = values.flatMap((x) => (x === null ? [] : [x]));
  return v.length > 0 ? round3(summarize(v).p50) : null;
}

function convergenceReport(c: BgpConvergenceRun): BgpConvergenceReport {
  const t = c.joinerTimelines;
  return {
    nodes: c.nodes,
    holdTimeSeconds: c.holdTimeSeconds,
    keepaliveSeconds: c.keepaliveSeconds,
    bootSeconds: round3(c.bootSeconds),
    meshSeconds: round3(c.meshSeconds),
    joiner: c.joiner,
    start: bgpEventReport(c.starts),
    joinerP50Ms: {
      firstLogMs: p50Of(t.map((x) => x.firstLogMs)),
      blocksLeasedMs: p50Of(t.map((x) => x.blocksLeasedMs)),
      birdStartedMs: p50Of(t.map((x) => x.birdStartedMs)),
      readyMs: p50Of(t.map((x) => x.readyMs)),
    },
    joinerTimelines: t,
    cleanStop: bgpEventReport(c.cleanStops),
    death: bgpEventReport(c.deaths),
    exampleRoute: c.exampleRoute ?? null,
    logProblems: c.logProblems,
  };
}

/** Mean over the raw routed path's mean, unrounded: the targets are judged on these. */
export function bgpThroughputRatios(t: BgpThroughputRun): {
  static: number | null;
  bgp: number | null;
  vxlan: number | null;
  bgpOverStatic: number | null;
} {
  return {
    static: meanRatio(t, "static", "raw"),
    bgp: meanRatio(t, "bgp", "raw"),
    vxlan: meanRatio(t, "vxlan", "raw"),
    bgpOverStatic: meanRatio(t, "bgp", "static"),
  };
}

function throughputReport(t: BgpThroughputRun): BgpThroughputReport {
  const perRound = (path: BgpPathKey) => roundRatios(t, path, "raw");
  const exact = bgpThroughputRatios(t);
  return {
    paths: pathReports(t, BGP_PATHS),
    ratio: { static: r3(exact.static), bgp: r3(exact.bgp), vxlan: r3(exact.vxlan) },
    bgpOverStatic: r3(exact.bgpOverStatic),
    roundRatios: { static: perRound("static"), bgp: perRound("bgp"), vxlan: perRound("vxlan") },
  };
}

export function buildBgpReport(
  convergence: BgpConvergenceRun | undefined,
  throughput: BgpThroughputRun | undefined,
): BgpReport {
  return {
    convergence: convergence ? convergenceReport(convergence) : null,
    throughput: throughput ? throughputReport(throughput) : null,
  };
}

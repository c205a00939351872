/**
 * What the throughput parts report per measured path (pure): Gbit/s over the rounds, retransmits,
 * CPU, ratios to an anchor path, and the path's row in the table.
 */
import type { Summary } from "../support/stats.ts";
import { ratio, round3, roundSummary, summarize } from "../support/stats.ts";
import { fmt } from "../support/text-table.ts";
import type { PathInfo, PathsRun } from "./iperf-rounds.ts";

export interface PathReport extends PathInfo {
  readonly gbps: Summary;
  readonly samplesGbps: readonly number[];
  readonly retransmits: number;
  readonly cpuClientPercent: number | null;
  readonly cpuServerPercent: number | null;
}

const r3 = (v: number | null): number | null => (v === null ? null : round3(v));
const gbpsOf = <K extends string>(t: PathsRun<K>, path: K) =>
  t.samples.filter((s) => s.path === path).map((s) => s.result.receivedBps / 1e9);
const meanOf = (v: readonly number[]) => (v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : null);

/** The report of every path in `order` that has samples. */
export function pathReports<K extends string>(
  t: PathsRun<K>,
  order: readonly K[],
): Partial<Record<K, PathReport>> {
  const paths: Partial<Record<K, PathReport>> = {};
  for (const path of order) {
    const samples = t.samples.filter((s) => s.path === path);
    if (samples.length === 0) continue;
    const cpu = (pick: (s: (typeof samples)[number]) => number | null) =>
      r3(meanOf(samples.flatMap((s) => pick(s) ?? [])));
    paths[path] = {
      ...t.paths[path],
      gbps: roundSummary(summarize(gbpsOf(t, path), `${path} throughput`)),
      samplesGbps: gbpsOf(t, path).map(round3),
      retransmits: samples.reduce((n, s) => n + s.result.retransmits, 0),
      cpuClientPercent: cpu((s) => s.result.cpuClientPercent),
      cpuServerPercent: cpu((s) => s.result.cpuServerPercent),
    };
  }
  return paths;
}

/** Mean Gbit/s of `path` over the mean of `anchor`, unrounded (targets are judged on these); null without samples. */
export function meanRatio<K extends string>(t: PathsRun<K>, path: K, anchor: K): number | null {
  const m = meanOf(gbpsOf(t, path));
  const a = meanOf(gbpsOf(t, anchor));
  return m === null || a === null ? null : ratio(m, a);
}

/** `path` over `anchor` of the same round, rounded, for every round both were measured. */
export function roundRatios<K extends string>(t: PathsRun<K>, path: K, anchor: K): number[] {
  return t.samples.flatMap((s) => {
    if (s.path !== path) return [];
    const base = t.samples.find((x) => x.path === anchor && x.round === s.round);
    return base ? [round3(s.result.receivedBps / base.result.receivedBps)] : [];
  });
}

/** A path's row under the throughput table's head: mean, min, max, MTU, retransmits, CPU, ratio. */
export function pathRow(label: string, r: PathReport, ratioText: string): string[] {
  return [
    label,
    fmt(r.gbps.mean),
    fmt(r.gbps.min),
    fmt(r.gbps.max),
    String(r.mtu),
    String(r.retransmits),
    `${fmt(r.cpuClientPercent, 0)}/${fmt(r.cpuServerPercent, 0)}`,
    ratioText,
  ];
}

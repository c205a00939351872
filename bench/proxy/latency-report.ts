/**
 * The connection-setup part of the proxy benchmark's report (pure): per case summaries, the
 * ratio large table / small table of one ruleset layout — 1 would mean the table's size costs a
 * new connection nothing — and podnet's full loads over the iptables layout's.
 */
import type { Summary } from "../support/stats.ts";
import { ratio, round3, roundSummary, summarize } from "../support/stats.ts";
import type { LatencyCase, Subject } from "./latency-bench.ts";

export interface LatencyCaseReport {
  readonly subject: Subject;
  readonly services: number;
  readonly rulesetMiB: number;
  /** podnet: replaceTable into the empty namespace (as the agent syncs); iptables: `nft -f`. */
  readonly loadMs: number;
  /** podnet only (absent from reports before the netlink path): replaceTable over its live table. */
  readonly replaceMs?: number;
  /** podnet only (absent likewise): its whole text through `nft -f` into a fresh namespace. */
  readonly nftFileMs?: number;
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

const maybeSummary = (v: readonly number[], what: string): Summary | null =>
  v.length > 0 ? summarize(v, what) : null;
const roundedOrNull = (s: Summary | null): Summary | null => (s === null ? null : roundSummary(s));

export function latencyCase(c: LatencyCase): {
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
      ...(c.replaceMs === undefined ? {} : { replaceMs: round3(c.replaceMs) }),
      ...(c.nftFileMs === undefined ? {} : { nftFileMs: round3(c.nftFileMs) }),
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

/** The target for loading the whole table: podnet ≤ 0.1 × the iptables layout. */
export const LOAD_RATIO_TARGET = { max: 0.1, text: "≤ 0.1" } as const;

/** A figure of podnet's full load: as the agent syncs, replacing its live table, or by `nft -f`. */
export type PodnetLoad = "loadMs" | "replaceMs" | "nftFileMs";

/**
 * podnet's `figure` of the whole table over the iptables layout's `nft -f` load into a fresh
 * namespace, at `services` in the same run; null when either is missing. The judged one is
 * "loadMs": replaceTable into an empty namespace, the agent's full sync.
 */
export function loadRatio(
  cases: readonly LatencyCase[],
  services: number,
  figure: PodnetLoad = "loadMs",
): number | null {
  const at = (subject: Subject) => cases.find((c) => c.subject === subject && c.services === services);
  const podnet = at("podnet")?.[figure];
  const iptables = at("iptables")?.loadMs;
  return podnet === undefined || iptables === undefined ? null : ratio(podnet, iptables);
}

/**
 * The incremental rows through the proxy's per-Service state (ProxyState): one change per sync
 * and a burst of changes in one sync, for each way of handing a transaction to nft, and how flat
 * the per-change cost stays as the table grows (pure).
 */
import type { Summary } from "../support/stats.ts";
import { ratio, round3, roundSummary, summarize } from "../support/stats.ts";

/** One `nft -f -` process per transaction, or one long-lived `nft -i` session. */
export type ApplyPath = "nft -f" | "nft -i";
export const APPLY_PATHS: readonly ApplyPath[] = ["nft -f", "nft -i"];

/** The target: incremental total p50 at the largest size ≤ 1.5 × the same at the smallest. */
export const FLATNESS_TARGET = { max: 1.5, text: "≤ 1.5" } as const;

/** Raw samples of one size and apply path; `changes` is 1 for single changes, 100 for bursts. */
export interface StateSyncRun {
  readonly services: number;
  readonly path: ApplyPath;
  readonly changes: number;
  /** ProxyState.update with the changed entries: its plan's text included. */
  readonly renderMs: readonly number[];
  readonly applyMs: readonly number[];
  readonly totalMs: readonly number[];
  readonly transactionLines: readonly number[];
  /** Measured syncs of the `nft -i` path that went to `nft -f -` (too long for one nft -i line). */
  readonly fallbacks: number;
}

/** Lines of a transaction text (each command ends with a newline). */
export function lineCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

export interface StateSyncReport {
  readonly services: number;
  readonly path: ApplyPath;
  readonly changes: number;
  readonly renderMs: Summary;
  readonly applyMs: Summary;
  readonly totalMs: Summary;
  readonly transactionLines: Summary;
  readonly fallbacks: number;
}

export interface FlatnessRatio {
  readonly path: ApplyPath;
  readonly small: number;
  readonly large: number;
  readonly smallP50: number;
  readonly largeP50: number;
  /** largeP50 / smallP50; null when the small one is 0. */
  readonly ratio: number | null;
}

export function stateSyncReport(run: StateSyncRun): StateSyncReport {
  const what = `${run.path} at ${run.services} Services`;
  return {
    services: run.services,
    path: run.path,
    changes: run.changes,
    renderMs: roundSummary(summarize(run.renderMs, `state updates, ${what}`)),
    applyMs: roundSummary(summarize(run.applyMs, `state applies, ${what}`)),
    totalMs: roundSummary(summarize(run.totalMs, `state syncs, ${what}`)),
    transactionLines: roundSummary(summarize(run.transactionLines, `state transactions, ${what}`)),
    fallbacks: run.fallbacks,
  };
}

/**
 * Single-change total p50 of `path` at `large` Services over the same at `small`, unrounded; null
 * when either size has no samples (a failed size must not be replaced by another).
 */
export function flatnessRatio(
  runs: readonly StateSyncRun[],
  path: ApplyPath,
  small: number,
  large: number,
): FlatnessRatio | null {
  const p50At = (services: number): number | null => {
    const run = runs.find(
      (r) => r.path === path && r.changes === 1 && r.services === services && r.totalMs.length > 0,
    );
    return run === undefined ? null : summarize(run.totalMs).p50;
  };
  const smallP50 = p50At(small);
  const largeP50 = p50At(large);
  if (small === large || smallP50 === null || largeP50 === null) return null;
  return { path, small, large, smallP50, largeP50, ratio: ratio(largeP50, smallP50) };
}

export function roundFlatness(r: FlatnessRatio): FlatnessRatio {
  return {
    ...r,
    smallP50: round3(r.smallP50),
    largeP50: round3(r.largeP50),
    ratio: r.ratio === null ? null : round3(r.ratio),
  };
}

/** Summary statistics and ratios for the benchmarks' figures (pure). */

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export class EmptySampleError extends Error {
  override readonly name = "EmptySampleError";
  constructor(readonly what: string) {
    super(`Cannot summarise "${what}": no successful samples`);
  }
}

/**
 * Nearest-rank percentile (the smallest sample with at least p% of the samples at or below it):
 * always a value that was really measured, never an interpolation between two runs.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new EmptySampleError(`p${p}`);
  if (!(p > 0 && p <= 100)) throw new RangeError(`Percentile ${p} must be in (0, 100]`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

export function summarize(samples: readonly number[], what = "samples"): Summary {
  if (samples.length === 0) throw new EmptySampleError(what);
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    min: sorted[0] as number,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
    mean: sum / sorted.length,
  };
}

/** podnet / reference; null when the reference value is zero (no meaningful ratio). */
export function ratio(podnet: number, reference: number): number | null {
  return reference === 0 ? null : podnet / reference;
}

export interface RatioSummary {
  readonly min: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
}

export function ratioOfSummaries(podnet: Summary, reference: Summary): RatioSummary {
  return {
    min: ratio(podnet.min, reference.min),
    p50: ratio(podnet.p50, reference.p50),
    p99: ratio(podnet.p99, reference.p99),
  };
}

/** Rounds for the JSON report: figures keep 3 decimals, which is below the run-to-run noise. */
export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** A summary with every figure rounded to 3 decimals, as the JSON reports carry them. */
export function roundSummary(s: Summary): Summary {
  return {
    n: s.n,
    min: round3(s.min),
    p50: round3(s.p50),
    p99: round3(s.p99),
    max: round3(s.max),
    mean: round3(s.mean),
  };
}

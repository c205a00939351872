/**
 * Failed steps of a benchmark run (an operation that failed, a part that could not be measured):
 * left out of the figures, counted and listed in the report, and the reason the run exits with 1
 * (pure).
 */

export interface FailureReport {
  readonly count: number;
  /** The first ten, in the order they happened. */
  readonly first: readonly string[];
}

export function failureReport(failures: readonly string[]): FailureReport {
  return { count: failures.length, first: failures.slice(0, 10) };
}

/** The failures line of a report's table, the first failures listed under it. */
export function failureLines(failures: FailureReport, note?: string): string[] {
  if (failures.count === 0) return ["Failures: none"];
  return [`Failures: ${failures.count}${note ? ` (${note})` : ""}`, ...failures.first.map((f) => `  ${f}`)];
}

/**
 * The targets podnet sets itself for a benchmark's figures, how a figure is judged against one
 * (on its unrounded value), and how the judgements are printed (pure).
 */
import { fmt, table } from "./text-table.ts";

export interface TargetCheck {
  readonly name: string;
  /** The target as printed, e.g. "≤ 2000 ms". */
  readonly target: string;
  readonly value: number | null;
  /** Decimals worth printing for this value. */
  readonly digits: number;
  readonly met: boolean;
}

/** A bound on a figure: met at or below `max`, at or above `min`. */
export interface Limit {
  readonly text: string;
  readonly max?: number;
  readonly min?: number;
}

/**
 * Judges `value` against `limit`; a figure that could not be measured (null) misses its target.
 * `shown` is the value the report carries when it differs from the judged one (rounded).
 */
export function judge(
  name: string,
  value: number | null,
  limit: Limit,
  digits: number,
  shown: number | null = value,
): TargetCheck {
  const met =
    value !== null &&
    (limit.max === undefined || value <= limit.max) &&
    (limit.min === undefined || value >= limit.min);
  return { name, target: limit.text, value: shown, digits, met };
}

/** The targets section of a report's table; `note` says how to read the values. */
export function targetLines(targets: readonly TargetCheck[], note?: string): string[] {
  return [
    `Targets podnet aims for${note ? ` (${note})` : ""}`,
    ...table(
      ["", "value", "target", ""],
      targets.map((t) => [t.name, fmt(t.value, t.digits), t.target, t.met ? "met" : "NOT MET"]),
    ),
  ];
}

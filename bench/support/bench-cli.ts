/**
 * What every benchmark runner shares: its flags (whole numbers in a range, lists from a fixed
 * set), progress lines on stderr, the record of failed steps, the report on stdout (and as JSON
 * in a file), and the exit code (0 all measured, 1 some measurement failed, 2 usage or setup
 * error).
 */
import { writeFileSync } from "node:fs";
import { errorText } from "../../src/base/error-text.ts";
import type { parseArgs } from "../../src/cli/args.ts";
import { flag, UsageError } from "../../src/cli/args.ts";

type Args = ReturnType<typeof parseArgs>;

/** An integer flag from `min` to `max` (no upper bound by default), or `fallback` when absent. */
export function intFlag(args: Args, name: string, fallback: number, min: number, max = Infinity): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      max === Infinity
        ? `--${name} "${text}" must be an integer ≥ ${min}`
        : `--${name} "${text}" must be an integer from ${min} to ${max}`,
    );
  return n;
}

/** A comma-separated list of `allowed` words (duplicates dropped), or `fallback` when absent. */
export function listFlag<T extends string>(
  args: Args,
  name: string,
  allowed: readonly T[],
  fallback: readonly T[],
): T[] {
  const text = flag(args, name);
  if (text === undefined) return [...fallback];
  const items = text.split(",").filter((s) => s !== "");
  for (const i of items)
    if (!allowed.includes(i as T))
      throw new UsageError(`--${name}: "${i}" is not one of ${allowed.join(", ")}`);
  if (items.length === 0) throw new UsageError(`--${name} needs at least one of ${allowed.join(", ")}`);
  return [...new Set(items as T[])];
}

const started = performance.now();

/** Seconds since the run began. */
export function elapsedSeconds(): number {
  return (performance.now() - started) / 1000;
}

/** A progress line on stderr, stamped with the seconds since the run began. */
export function progress(message: string): void {
  process.stderr.write(`[${elapsedSeconds().toFixed(1).padStart(6)} s] ${message}\n`);
}

/**
 * Where a run's failed steps are recorded: `fail` adds one (the first three also go to stderr as
 * they happen), `failures` is the list the report counts.
 */
export function failureRecorder(): { readonly failures: string[]; readonly fail: (message: string) => void } {
  const failures: string[] = [];
  const fail = (message: string) => {
    if (failures.length < 3) progress(`FAILED: ${message}`);
    failures.push(message);
  };
  return { failures, fail };
}

/**
 * Prints the table and the JSON report, writes the JSON to `jsonFile` when given; returns the exit
 * code: 1 when some step failed (a missed target does not change it: the figures are the output).
 */
export function publishReport(
  table: string,
  report: { readonly failures: { readonly count: number } },
  jsonFile: string | undefined,
): number {
  const json = JSON.stringify(report, null, 2);
  console.log(`${table}\n\nJSON report:\n${json}`);
  if (jsonFile) {
    writeFileSync(jsonFile, `${json}\n`);
    progress(`wrote ${jsonFile}`);
  }
  return report.failures.count === 0 ? 0 : 1;
}

/** Runs a benchmark's main and sets the exit code; usage errors print the usage. */
export async function runBench(
  name: string,
  usage: string,
  main: (argv: readonly string[]) => Promise<number>,
): Promise<void> {
  try {
    process.exitCode = await main(Bun.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) process.stderr.write(`${e.message}\n${usage}\n`);
    else process.stderr.write(`${name} failed: ${errorText(e)}\n`);
    process.exitCode = 2;
  }
}

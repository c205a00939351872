/**
 * The frame every benchmark runner (bench/NAME/run.ts) sets around what it measures: its flags
 * checked and --help answered, the podnet executable under test, and the start, machine and failed
 * steps of the run, with which every report opens.
 */
import { statSync } from "node:fs";
import { assertKnownFlags, flag, type ParsedArgs, parseArgs } from "../../src/cli/args.ts";
import { ensurePodnetBinary, PODNET, podnetVersion } from "../../testkit/podnet-build.ts";
import { elapsedSeconds, failureRecorder, progress } from "./bench-cli.ts";
import { describeMachine, loadAtStart, type Machine } from "./machine.ts";

export interface RunnerFlags {
  /** The flags that take a value, besides --json FILE (every runner's). */
  readonly values: readonly string[];
  /** The flags that take none, besides --help (every runner's). */
  readonly booleans?: readonly string[];
}

/**
 * Parses a runner's command line, refusing a flag it does not know (UsageError); prints `usage`
 * and returns undefined when --help asks for it.
 */
export function runnerArgs(
  argv: readonly string[],
  usage: string,
  flags: RunnerFlags,
): ParsedArgs | undefined {
  const booleans = [...(flags.booleans ?? []), "help"];
  const args = parseArgs(argv, booleans);
  assertKnownFlags(args, [...flags.values, "json", ...booleans]);
  if (flag(args, "help")) {
    console.log(usage);
    return undefined;
  }
  return args;
}

/** What a report says of the podnet executable it measured. */
export interface PodnetBuild {
  readonly binary: string;
  readonly version: string;
  /** The binary's modification time when the run started: which build the figures belong to. */
  readonly modified: string;
  /** Someone rebuilt it during the run: what started later ran the new build. */
  readonly replacedDuringRun: boolean;
}

export interface PodnetUnderTest {
  readonly binary: string;
  readonly version: string;
  /** The build, as the report says it at the end of the run. */
  build(): PodnetBuild;
}

/**
 * The podnet executable of --podnet PATH (default dist/podnet, built when missing or with
 * --build; a runner taking them lists "podnet" and the boolean "build" in its flags).
 */
export function podnetUnderTest(args: ParsedArgs): PodnetUnderTest {
  const binary = ensurePodnetBinary(
    flag(args, "podnet") ?? PODNET,
    flag(args, "build") !== undefined,
    progress,
  );
  const builtMs = statSync(binary).mtimeMs;
  const version = podnetVersion(binary);
  const modified = new Date(builtMs).toISOString();
  return {
    binary,
    version,
    build: () => ({ binary, version, modified, replacedDuringRun: statSync(binary).mtimeMs !== builtMs }),
  };
}

export interface BenchRun {
  /** Failed steps so far, and how a step records one (failureRecorder). */
  readonly failures: string[];
  readonly fail: (message: string) => void;
  /** How the report opens: when the run started, how long it took, the machine it ran on. */
  header(): { readonly startedAt: string; readonly durationSeconds: number; readonly machine: Machine };
}

/** The run begins: its start time and load average (warned about when high), no failure yet. */
export function startRun(): BenchRun {
  const startedAt = new Date().toISOString();
  const loadBefore = loadAtStart();
  const { failures, fail } = failureRecorder();
  return {
    failures,
    fail,
    header: () => ({ startedAt, durationSeconds: elapsedSeconds(), machine: describeMachine(loadBefore) }),
  };
}

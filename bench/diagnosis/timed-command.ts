/**
 * One timed execution: wall time from the spawn until the process has exited and its output has
 * been read, as a person at a shell (or a script) waits for it.
 */
import { run } from "../../src/linux/exec.ts";

export interface TimedResult {
  readonly ms: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Far above any figure measured, below "something hangs": a run this slow is a failure, not a sample. */
export const COMMAND_TIMEOUT_MS = 30_000;

export async function timedCommand(argv: readonly string[]): Promise<TimedResult> {
  const started = performance.now();
  const r = await run(argv, { timeoutMs: COMMAND_TIMEOUT_MS });
  return { ms: performance.now() - started, code: r.code, stdout: r.stdout, stderr: r.stderr };
}

/** "exited with 1: last lines of stderr", for a failure message. */
export function exitProblem(r: TimedResult): string {
  const text = (r.stderr || r.stdout).trim().split("\n").slice(-2).join("; ");
  return `exited with ${r.code}: ${text || "(no output)"}`;
}

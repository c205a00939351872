import type { Subprocess } from "bun";

export interface Stopped {
  /** What `exited` resolved with: the exit code, or 128 + the signal's number when a signal ended it. */
  readonly code: number;
  /** True when it outlived the grace period and was killed with SIGKILL. */
  readonly killed: boolean;
}

/**
 * Sends `signal` and waits up to `graceMs` for the process to exit, then kills it (SIGKILL) and
 * waits for that. Resolves once the process is gone, so nothing it held (a port, a namespace's
 * last reference) outlives the call.
 */
export async function stopProcess(
  proc: Subprocess,
  signal: NodeJS.Signals = "SIGTERM",
  graceMs = 5000,
): Promise<Stopped> {
  if (proc.exitCode !== null || proc.signalCode !== null) return { code: await proc.exited, killed: false };
  proc.kill(signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A timer, not Bun.sleep: it must be cleared, or it would keep the process alive after the run.
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), graceMs);
  });
  const outcome = await Promise.race([proc.exited, timeout]);
  clearTimeout(timer);
  if (outcome !== "timeout") return { code: outcome, killed: false };
  proc.kill("SIGKILL");
  return { code: await proc.exited, killed: true };
}

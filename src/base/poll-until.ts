/**
 * Waiting for something that happens after the call that caused it returns (an agent writing its
 * ready file, the kernel destroying a deleted namespace's veths, a watch catching up): the
 * condition is polled with a deadline instead of sleeping a guessed time.
 */

export class PollTimeoutError extends Error {
  override readonly name = "PollTimeoutError";
}

export interface PollOptions {
  /** What the failure message adds for diagnosis (agent logs, kernel state). */
  readonly detail?: () => string;
  /** Pause between two checks; longer where one check is expensive (many namespaces). */
  readonly intervalMs?: number;
}

/** What a check returns: the value waited for, or undefined/false while it has not happened. */
export type Polled<T> = T | undefined | false;

/**
 * Polls `check` until it returns something other than undefined or false; returns that value and
 * the milliseconds it took. An exception from `check` ends the wait at once (a process that died
 * will not get ready). Throws PollTimeoutError after `timeoutMs`.
 */
export async function pollUntil<T>(
  what: string,
  check: () => Polled<T> | Promise<Polled<T>>,
  timeoutMs = 10_000,
  options: PollOptions = {},
): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      const more = options.detail?.() ?? "";
      throw new PollTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${what}${more ? `\n${more}` : ""}`,
      );
    }
    await Bun.sleep(options.intervalMs ?? 50);
  }
}

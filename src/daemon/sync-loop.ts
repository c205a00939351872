/**
 * The reconcile loop every podnet daemon runs: requests for a sync coalesce (at most one sync
 * runs, at most one waits behind it, whatever the number of events), a failed sync is retried
 * with exponential backoff (one retry pending at a time, the delay reset by the next success),
 * and stop waits for the running sync so nothing writes after its daemon is gone.
 */

export interface SyncLoopOptions {
  /** One reconciliation; a rejection is a failed sync. */
  readonly sync: (reason: string) => Promise<void>;
  /** Log and count a failed sync; it is retried after `retryInMs`. */
  readonly failed: (error: unknown, reason: string, retryInMs: number) => void;
  readonly firstRetryMs: number;
  readonly maxRetryMs: number;
  /** Requests within this many milliseconds of the first are served by one sync. */
  readonly coalesceMs?: number;
}

export class SyncLoop {
  private running: Promise<void> | undefined;
  private queued: string | undefined;
  private startTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryDelayMs: number;
  private stopped = false;

  constructor(private readonly o: SyncLoopOptions) {
    this.retryDelayMs = o.firstRetryMs;
  }

  /** Asks for a sync: started soon, or queued behind the running one. */
  request(reason: string): void {
    if (this.stopped || this.startTimer) return;
    if (this.running) {
      this.queued ??= reason;
      return;
    }
    if (this.o.coalesceMs === undefined) {
      this.start(reason);
      return;
    }
    this.startTimer = setTimeout(() => {
      this.startTimer = undefined;
      this.now(reason);
    }, this.o.coalesceMs);
  }

  /** Runs a sync without the coalescing delay and waits until the loop is idle. */
  async flush(reason: string): Promise<void> {
    this.now(reason);
    await this.idle();
  }

  /** Resolves once no sync runs or waits (a retry still pending on its timer does not count). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.startTimer = undefined;
    this.retryTimer = undefined;
    this.queued = undefined;
    await this.idle();
  }

  private now(reason: string): void {
    if (this.stopped) return;
    if (this.running) this.queued ??= reason;
    else this.start(reason);
  }

  private start(reason: string): void {
    // `finally` runs as a microtask after the assignment, even when the sync fails at once.
    this.running = this.runOnce(reason).finally(() => {
      this.running = undefined;
      const next = this.queued;
      this.queued = undefined;
      if (next !== undefined && !this.stopped) this.start(next);
    });
  }

  private async runOnce(reason: string): Promise<void> {
    try {
      await this.o.sync(reason);
      this.retryDelayMs = this.o.firstRetryMs;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    } catch (e) {
      this.o.failed(e, reason, this.retryDelayMs);
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.request("retry");
    }, this.retryDelayMs);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.o.maxRetryMs);
  }
}

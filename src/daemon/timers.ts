/**
 * The timers of a long-running daemon, held in one place so stop clears every one of them: a
 * timeout forgets itself when it fires, so a daemon that schedules one per retry for days does
 * not grow a list of spent timers.
 */
export class Timers {
  private readonly intervals = new Set<ReturnType<typeof setInterval>>();
  private readonly timeouts = new Set<ReturnType<typeof setTimeout>>();

  every(ms: number, fn: () => void): void {
    this.intervals.add(setInterval(fn, ms));
  }

  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timeouts.delete(t);
      fn();
    }, ms);
    this.timeouts.add(t);
  }

  /** Timers set and not yet fired or cleared (intervals count until cleared). */
  get pending(): number {
    return this.intervals.size + this.timeouts.size;
  }

  clear(): void {
    for (const t of this.intervals) clearInterval(t);
    for (const t of this.timeouts) clearTimeout(t);
    this.intervals.clear();
    this.timeouts.clear();
  }
}

/**
 * At most N readiness checks at once: a node with hundreds of checked pods whose periods line up
 * must not open hundreds of sockets in the same millisecond. Waiters are served first come,
 * first served; `clear` drops them (the agent is stopping and their results would be ignored).
 * `acquireFor` paces starts only: a check still running after its hold gives its slot to the
 * next, so checks that hang until their timeout do not hold every other check back.
 */
export class ReadinessLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(
        `Invalid readiness check concurrency ${max}: must be a whole number of at least 1`,
      );
  }

  /** Resolves when the caller may run; it must call release() once done. */
  acquire(): Promise<void> {
    if (this.running < this.max) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * Resolves when the caller may run, with the function it calls once done (again is harmless).
   * The slot is given up by itself after `holdMs` if the caller has not done so by then.
   */
  async acquireFor(holdMs: number): Promise<() => void> {
    await this.acquire();
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.release();
    };
    const timer = setTimeout(release, holdMs);
    return release;
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running = Math.max(0, this.running - 1);
  }

  /** Checks running now and waiting for a turn. */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  clear(): void {
    this.waiting.length = 0;
  }
}

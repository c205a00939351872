/**
 * Collects the garbage of a burst of work at once (a full collection), at most every so often.
 * Left to the collector's own pace, a daemon that takes in 10,000 Services and 100,000 pods in a
 * few seconds grows by tens of MiB more at its peak — pages the allocator then keeps. Measured in
 * the proxy: 55 MiB less at the peak for a collection of a few tens of ms after each large sync.
 */
export class BurstCollector {
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    /** Work items (changes, events) from which a round counts as a burst. */
    private readonly threshold: number,
    private readonly minIntervalMs: number,
    private readonly collect: () => void = () => Bun.gc(true),
  ) {}

  /** A round of work is done; `items` is how much it handled. Returns whether it collected. */
  after(items: number, now = performance.now()): boolean {
    if (items < this.threshold || now - this.last < this.minIntervalMs) return false;
    this.last = now;
    this.collect();
    return true;
  }
}

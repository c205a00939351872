/**
 * How many Services jump to each shared DNAT chain ("proto/count"), so a sync adds a chain when
 * its first user appears and removes it when its last one goes, without looking at the others
 * (pure; proxy-state.ts). The counts before an update are kept until take().
 */
export class ChainCounts {
  private readonly counts = new Map<string, number>();
  private readonly before = new Map<string, number>();

  /** The pairs in use. */
  keys(): IterableIterator<string> {
    return this.counts.keys();
  }

  move(pair: string, by: 1 | -1): void {
    const was = this.counts.get(pair) ?? 0;
    if (was + by < 0) throw new RangeError(`DNAT chain ${pair} released more often than taken`);
    if (!this.before.has(pair)) this.before.set(pair, was);
    if (was + by === 0) this.counts.delete(pair);
    else this.counts.set(pair, was + by);
  }

  /** Pairs that came into use and went out of use since the last call. */
  take(): { added: string[]; removed: string[] } {
    const added: string[] = [];
    const removed: string[] = [];
    for (const [pair, was] of this.before) {
      const now = this.counts.get(pair) ?? 0;
      if (was === 0 && now > 0) added.push(pair);
      else if (was > 0 && now === 0) removed.push(pair);
    }
    this.before.clear();
    return { added, removed };
  }
}

/**
 * How many Services jump to each shared DNAT chain ("proto/count"), so a sync adds a chain when
 * its first user appears and removes it when its last one goes, without looking at the others
 * (pure; proxy-state.ts).
 */
/** Counts of the shared DNAT chains in use ("proto/count"), with the counts before an update. */
export class ChainCounts {
  readonly counts = new Map<string, number>();
  private readonly before = new Map<string, number>();

  move(pair: string, by: 1 | -1): void {
    const was = this.counts.get(pair) ?? 0;
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

/**
 * When `podnet ui` asks again the nodes that did not answer a facts request: each alone, first
 * after `baseMs`, then twice as late each time it stays silent, up to `maxMs` — so a node that is
 * down costs one small request now and then, and the nodes that answer are not asked for it.
 */
export class MissingRetries {
  private readonly retries = new Map<string, { at: number; delayMs: number }>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** The nodes whose retry is due at `now`. */
  due(now: number): string[] {
    return [...this.retries].filter(([, r]) => r.at <= now).map(([node]) => node);
  }

  /**
   * After a gather that asked `asked` (every node when undefined) and heard nothing from `silent`:
   * a node that answered is no longer retried; a silent one is, its delay doubled when it was
   * asked alone (a full gather keeps its delay).
   */
  gathered(silent: readonly string[], asked: ReadonlySet<string> | undefined, now: number): void {
    const still = new Set(silent);
    for (const node of [...this.retries.keys()])
      if ((asked === undefined || asked.has(node)) && !still.has(node)) this.retries.delete(node);
    for (const node of still) {
      const previous = this.retries.get(node);
      const delayMs =
        previous === undefined
          ? this.baseMs
          : asked === undefined
            ? previous.delayMs
            : Math.min(this.maxMs, previous.delayMs * 2);
      this.retries.set(node, { at: now + delayMs, delayMs });
    }
  }
}

/**
 * Work queued under one key runs in order, each key on its own chain, while different keys run
 * side by side (the diagnosis responder queues a request's arm, go, probe and end under its id). A
 * failed piece of work is handed to `failed` and the chain goes on.
 */
export class WorkChains {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly failed: (key: string, e: unknown) => void) {}

  enqueue(key: string, work: () => Promise<void>): void {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((e) => this.failed(key, e))
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  /** Resolves when the work queued so far has run. */
  async drain(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}

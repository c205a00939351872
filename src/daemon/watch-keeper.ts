/**
 * Keeps a daemon's datastore watches open: when one fails (the datastore restarted, a
 * connection dropped, the revision was compacted), every watch is closed, the state is listed
 * again and watched from the new revision after a pause — retried until it works — and the
 * daemon is told to sync, since events were missed meanwhile.
 */
import type { Watch } from "../store/store.ts";

export interface WatchKeeperOptions {
  /** Lists what the daemon follows and watches it; the watches report errors to `failed`. */
  readonly open: (failed: (e: Error) => void) => Promise<readonly Watch[]>;
  /** The watches are open again after a failure: sync, events were missed. */
  readonly reopened: () => void;
  /** Log and count a failure (of a watch, or of opening it again). */
  readonly failed: (e: Error) => void;
  readonly retryMs?: number;
}

export class WatchKeeper {
  private watches: readonly Watch[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly o: WatchKeeperOptions) {}

  /** Opens the watches; throws when the first listing fails (the caller decides what that means). */
  async open(): Promise<void> {
    const watches = await this.o.open((e) => this.fail(e));
    this.closeWatches();
    this.watches = watches;
    if (this.closed) this.closeWatches();
  }

  /** A watch failed: closes them all and opens them again after a pause. */
  fail(e: Error): void {
    if (this.closed) return;
    this.o.failed(e);
    this.closeWatches();
    if (this.timer) return;
    this.timer = setTimeout(async () => {
      this.timer = undefined;
      if (this.closed) return;
      try {
        await this.open();
        if (!this.closed) this.o.reopened();
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
      }
    }, this.o.retryMs ?? 1000);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.closeWatches();
  }

  private closeWatches(): void {
    for (const w of this.watches) w.close();
    this.watches = [];
  }
}

/**
 * Watches over the SQLite event log. Another process's writes reach us only through the file,
 * so every open watch polls the log from the revision after the last one it delivered (and is
 * kicked at once after a write through this store). Each poll reads the log in one read
 * transaction, so a watch sees whole revisions in order and never half of a writer's work.
 */

import { unhandled } from "../base/unhandled.ts";
import type { EventRow, SqliteDb } from "./sqlite-db.ts";
import type { Watch, WatchEvent, WatchOptions } from "./store.ts";
import { CompactedError } from "./store.ts";

// Revisions scanned per read, so a watch far behind catches up in bounded steps.
const WINDOW = 1000;
// Windows delivered per watch per poll, so one watch catching up cannot starve the event loop.
const WINDOWS_PER_POLL = 20;

function toEvent(row: EventRow): WatchEvent {
  if (row.type === "delete") return { type: "delete", key: row.key, revision: row.revision };
  const kv = {
    key: row.key,
    value: row.value ?? "",
    createRevision: row.create_rev ?? row.revision,
    modRevision: row.revision,
    version: row.version ?? 1,
  };
  return {
    type: "put",
    revision: row.revision,
    kv: row.lease === null ? kv : { ...kv, lease: String(row.lease) },
  };
}

type PollStep =
  | { readonly kind: "idle" }
  | { readonly kind: "compacted"; readonly oldest: number }
  | { readonly kind: "events"; readonly rows: EventRow[]; readonly to: number };

class SqliteWatch implements Watch {
  next: number;
  closed = false;

  constructor(
    readonly prefix: string,
    readonly options: WatchOptions,
    private readonly hub: SqliteWatchHub,
  ) {
    this.next = options.fromRevision;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
  }

  fail(error: Error): void {
    if (this.closed) return;
    this.close();
    this.options.onError(error);
  }

  deliver(events: WatchEvent[]): void {
    if (this.closed || events.length === 0) return;
    try {
      this.options.onEvents(events);
    } catch (e) {
      // The consumer could not take these events: stopping is the only way not to skip them.
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

export class SqliteWatchHub {
  private readonly watches = new Set<SqliteWatch>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private kicked = false;

  constructor(
    private readonly sql: SqliteDb,
    private readonly pollIntervalMs: number,
    private readonly mapError: (e: unknown) => Error,
  ) {}

  add(prefix: string, options: WatchOptions): Watch {
    const watch = new SqliteWatch(prefix, options, this);
    this.watches.add(watch);
    this.timer ??= setInterval(() => this.poll(), this.pollIntervalMs);
    this.kick();
    return watch;
  }

  remove(watch: SqliteWatch): void {
    this.watches.delete(watch);
    if (this.watches.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Polls soon (after the current task), coalescing many writes into one poll. */
  kick(): void {
    if (this.kicked || this.watches.size === 0) return;
    this.kicked = true;
    setTimeout(() => {
      this.kicked = false;
      this.poll();
    }, 0);
  }

  /** Ends every watch with `error` (the store is closing). */
  failAll(error: Error): void {
    for (const w of [...this.watches]) w.fail(error);
  }

  private step(w: SqliteWatch): PollStep {
    return this.sql.db
      .transaction((): PollStep => {
        const { revision, compactRevision } = this.sql.meta();
        if (w.next < compactRevision) return { kind: "compacted", oldest: compactRevision };
        if (w.next > revision) return { kind: "idle" };
        const to = Math.min(revision, w.next + WINDOW - 1);
        return { kind: "events", rows: this.sql.events(w.prefix, w.next, to), to };
      })
      .deferred();
  }

  /** Delivers the next window of events to `w`; false once it has caught up or ended. */
  private advance(w: SqliteWatch): boolean {
    let step: PollStep;
    try {
      step = this.step(w);
    } catch (e) {
      w.fail(this.mapError(e));
      return false;
    }
    switch (step.kind) {
      case "idle":
        return false;
      case "compacted":
        w.fail(new CompactedError(w.next, step.oldest));
        return false;
      case "events":
        w.next = step.to + 1;
        w.deliver(step.rows.map(toEvent));
        return true;
      default: {
        unhandled(step, (shown) => new Error(`unknown poll step ${shown}`));
      }
    }
  }

  private poll(): void {
    for (const w of [...this.watches]) {
      for (let i = 0; i < WINDOWS_PER_POLL && !w.closed; i++) {
        if (!this.advance(w)) break;
      }
    }
  }
}

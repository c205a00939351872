/**
 * The embedded datastore: the Store contract on one SQLite file that many processes (every
 * agent and plugin of a one-machine lab) open at once. Every write is one BEGIN IMMEDIATE
 * transaction: it takes the file's single write lock, first deletes whatever leases have
 * expired by the wall clock (the same clock for every process on the machine), then applies its
 * operations under one new revision and appends them to the event log that watches poll.
 */
import { SQLiteError } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname, isAbsolute, normalize } from "node:path";
import { unhandled } from "../base/unhandled.ts";
import { SqliteDb, toKeyValue } from "./sqlite-db.ts";
import { SqliteWatchHub } from "./sqlite-watch.ts";
import { compareHolds, RevisionWriter } from "./sqlite-writer.ts";
import type {
  Compare,
  KeyValue,
  Lease,
  ListResult,
  Store,
  TxnOp,
  TxnResult,
  Watch,
  WatchOptions,
} from "./store.ts";
import { DatastoreUnavailableError, InvalidStoreArgumentError, LeaseNotFoundError } from "./store.ts";
import {
  checkKey,
  checkPageSize,
  checkPrefix,
  checkRevision,
  checkTtl,
  checkTxn,
  checkValue,
  isLeaseId,
} from "./store-args.ts";

export interface SqliteStoreOptions {
  /** Revisions of history kept for watches to resume from (default 10,000). */
  readonly historyRevisions?: number;
  /** How often this process deletes expired leases even when nobody writes (default 500 ms). */
  readonly sweepIntervalMs?: number;
  /** How often watches look for other processes' writes (default 75 ms). */
  readonly pollIntervalMs?: number;
  /** How long a write waits for another process's transaction (default 5 s). */
  readonly busyTimeoutMs?: number;
}

// Errors that mean the file cannot be used right now; the transaction was rolled back.
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|NOLFS|PROTOCOL)/;

/** Lease IDs this file can hold (AUTOINCREMENT rowids, never reused); undefined if none could be. */
function leaseNumber(id: string): number | undefined {
  if (!isLeaseId(id))
    throw new InvalidStoreArgumentError(`lease ID "${id}"`, "must be a positive decimal integer");
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : undefined;
}

export class SqliteStore implements Store {
  readonly description: string;
  private readonly sql: SqliteDb;
  private readonly hub: SqliteWatchHub;
  private readonly historyRevisions: number;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.description = `sqlite:${path}`;
    this.historyRevisions = options.historyRevisions ?? 10_000;
    if (!Number.isSafeInteger(this.historyRevisions) || this.historyRevisions < 1) {
      throw new InvalidStoreArgumentError("historyRevisions", "must be a positive integer");
    }
    try {
      this.sql = new SqliteDb(path, options.busyTimeoutMs ?? 5000);
    } catch (e) {
      throw this.mapError(e);
    }
    this.hub = new SqliteWatchHub(this.sql, options.pollIntervalMs ?? 75, (e) => this.mapError(e));
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 500);
    // A CLI command that forgets close() must still exit; daemons close the store on SIGTERM.
    this.sweeper.unref();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    return this.read(() => {
      const row = this.sql.getKv(key);
      return row ? toKeyValue(row) : undefined;
    });
  }

  async list(prefix: string): Promise<ListResult> {
    checkPrefix(prefix);
    return this.read(() => ({
      kvs: this.sql.listKv(prefix).map(toKeyValue),
      revision: this.sql.meta().revision,
    }));
  }

  async listPages(
    prefix: string,
    pageSize: number,
    onPage: (kvs: readonly KeyValue[]) => void,
  ): Promise<number> {
    checkPrefix(prefix);
    checkPageSize(pageSize);
    // One read transaction: every page is of the same revision.
    return this.read(() => {
      let page: KeyValue[] = [];
      this.sql.eachKv(prefix, (row) => {
        page.push(toKeyValue(row));
        if (page.length < pageSize) return;
        onPage(page);
        page = [];
      });
      if (page.length > 0) onPage(page);
      return this.sql.meta().revision;
    });
  }

  async put(key: string, value: string, options: { readonly lease?: string } = {}): Promise<number> {
    checkKey(key);
    checkValue(key, value);
    return this.write((now) => {
      const w = this.writer();
      w.put(key, value, this.liveLease(options.lease, now));
      return w.finish();
    });
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    return this.write(() => {
      const w = this.writer();
      const existed = w.delete(key);
      w.finish();
      return existed;
    });
  }

  async txn(
    compares: readonly Compare[],
    success: readonly TxnOp[],
    failure: readonly TxnOp[] = [],
  ): Promise<TxnResult> {
    checkTxn(compares, success, failure);
    return this.write((now) => {
      const succeeded = compares.every((c) => compareHolds(c, this.sql.getKv(c.key)));
      const w = this.writer();
      for (const op of succeeded ? success : failure) {
        switch (op.kind) {
          case "put":
            w.put(op.key, op.value, this.liveLease(op.lease, now));
            break;
          case "delete":
            w.delete(op.key);
            break;
          default: {
            unhandled(op, (shown) => new InvalidStoreArgumentError("transaction op", shown));
          }
        }
      }
      return { succeeded, revision: w.finish() };
    });
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    checkTtl(ttlSeconds);
    return this.write((now) => ({
      id: String(this.sql.insertLease(ttlSeconds, now + ttlSeconds * 1000)),
      ttlSeconds,
    }));
  }

  async keepAlive(leaseId: string): Promise<void> {
    const n = leaseNumber(leaseId);
    // Renewal fails outside the transaction so the expiry sweep it ran is kept.
    const renewed = n !== undefined && this.write((now) => this.sql.renewLease(n, now));
    if (!renewed) throw new LeaseNotFoundError(leaseId);
  }

  async revoke(leaseId: string): Promise<void> {
    const n = leaseNumber(leaseId);
    if (n === undefined) return;
    this.write(() => this.revokeLease(n));
  }

  watch(prefix: string, options: WatchOptions): Watch {
    checkPrefix(prefix);
    checkRevision("watch fromRevision", options.fromRevision);
    this.ensureOpen();
    return this.hub.add(prefix, options);
  }

  async compact(revision: number): Promise<void> {
    checkRevision("compaction revision", revision);
    this.write(() => {
      const current = this.sql.meta().revision;
      if (revision > current) {
        throw new InvalidStoreArgumentError(
          `compaction revision ${revision}`,
          `beyond the current revision ${current}`,
        );
      }
      this.sql.compactTo(revision);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.hub.failAll(new DatastoreUnavailableError(this.description, "the store was closed"));
    this.sql.close();
  }

  private writer(): RevisionWriter {
    return new RevisionWriter(this.sql, this.historyRevisions);
  }

  private liveLease(leaseId: string | undefined, now: number): number | null {
    if (leaseId === undefined) return null;
    const n = leaseNumber(leaseId);
    if (n === undefined || !this.sql.leaseAlive(n, now)) throw new LeaseNotFoundError(leaseId);
    return n;
  }

  private revokeLease(id: number): void {
    const w = this.writer();
    for (const key of this.sql.keysOfLease(id)) w.delete(key);
    this.sql.deleteLease(id);
    w.finish();
  }

  private expire(now: number): void {
    // One revision per lease, as etcd revokes each expired lease in its own transaction.
    for (const id of this.sql.expiredLeases(now)) this.revokeLease(id);
  }

  private sweep(): void {
    if (this.closed) return;
    try {
      if (this.sql.anyLeaseExpired(Date.now())) this.write(() => undefined);
    } catch {
      // Another process holds the write lock for longer than busy_timeout: the next write or
      // sweep (in any process) deletes the expired leases instead.
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new DatastoreUnavailableError(this.description, "the store was closed");
  }

  private write<T>(fn: (now: number) => T): T {
    this.ensureOpen();
    let result: T;
    try {
      result = this.sql.db
        .transaction(() => {
          const now = Date.now();
          this.expire(now);
          return fn(now);
        })
        .immediate();
    } catch (e) {
      throw this.mapError(e);
    }
    this.hub.kick();
    return result;
  }

  private read<T>(fn: () => T): T {
    this.ensureOpen();
    try {
      // A key whose lease has expired must not be read as present, even before a sweep ran.
      if (this.sql.anyLeaseExpired(Date.now())) this.write(() => undefined);
      return this.sql.db.transaction(fn).deferred();
    } catch (e) {
      throw this.mapError(e);
    }
  }

  private mapError(e: unknown): Error {
    if (e instanceof SQLiteError && UNAVAILABLE_CODES.test(e.code ?? "")) {
      return new DatastoreUnavailableError(this.description, `${e.code}: ${e.message}`);
    }
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Opens (creating if needed) the store at an absolute path; its directory is created too. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (path.includes("\0")) throw new InvalidStoreArgumentError("SQLite store path", "contains a NUL byte");
  if (!isAbsolute(path))
    throw new InvalidStoreArgumentError(`SQLite store path "${path}"`, "must be absolute");
  if (path.split("/").includes("..")) {
    throw new InvalidStoreArgumentError(`SQLite store path "${path}"`, 'must not contain ".."');
  }
  if (path.endsWith("/"))
    throw new InvalidStoreArgumentError(`SQLite store path "${path}"`, "names a directory");
  const file = normalize(path);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new DatastoreUnavailableError(
      `sqlite:${file}`,
      `cannot create its directory: ${(e as Error).message}`,
    );
  }
  return new SqliteStore(file, options);
}

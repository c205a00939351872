/**
 * The SQLite file behind SqliteStore: schema and every statement the store runs. Several
 * processes (the node agents and plugins of a one-machine lab) open the same file at once, so
 * the journal is WAL (readers never block the one writer) and writers wait for each other
 * through busy_timeout instead of failing.
 */
import { Database } from "bun:sqlite";
import type { KeyValue } from "./store.ts";
import { prefixEnd } from "./store-args.ts";

export const SCHEMA_VERSION = 1;

export interface KvRow {
  readonly key: string;
  readonly value: string;
  readonly create_rev: number;
  readonly mod_rev: number;
  readonly version: number;
  readonly lease: number | null;
}

export interface EventRow {
  readonly revision: number;
  readonly seq: number;
  readonly key: string;
  readonly type: "put" | "delete";
  readonly value: string | null;
  readonly create_rev: number | null;
  readonly version: number | null;
  readonly lease: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  revision INTEGER NOT NULL,
  compact_revision INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (id, revision, compact_revision) VALUES (1, 1, 0);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_by_lease ON kv (lease) WHERE lease IS NOT NULL;
CREATE TABLE IF NOT EXISTS leases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ttl INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_by_expiry ON leases (expires_at);
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('put', 'delete')),
  value TEXT,
  create_rev INTEGER,
  version INTEGER,
  lease INTEGER,
  PRIMARY KEY (revision, seq)
) WITHOUT ROWID;
`;

export class SqliteSchemaError extends Error {
  override readonly name = "SqliteSchemaError";
  constructor(
    readonly path: string,
    readonly found: number,
  ) {
    super(`SQLite store "${path}" has schema version ${found}, newer than ${SCHEMA_VERSION}: upgrade podnet`);
  }
}

export function toKeyValue(row: KvRow): KeyValue {
  const kv = {
    key: row.key,
    value: row.value,
    createRevision: row.create_rev,
    modRevision: row.mod_rev,
    version: row.version,
  };
  return row.lease === null ? kv : { ...kv, lease: String(row.lease) };
}

/** `key >= ? AND key < ?` for a prefix, or only the lower bound when none exists. */
function rangeParams(prefix: string): [string, string | null] {
  return [prefix, prefixEnd(prefix) ?? null];
}

export class SqliteDb {
  readonly db: Database;

  constructor(
    readonly path: string,
    busyTimeoutMs: number,
  ) {
    this.db = new Database(path, { create: true, readwrite: true, strict: true });
    try {
      // busy_timeout first: every later statement (even setting WAL) may meet another process's lock.
      this.db.run(`PRAGMA busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
      this.db.run("PRAGMA journal_mode = WAL");
      // FULL: an allocation acknowledged to a caller survives a power cut, not only a crash.
      this.db.run("PRAGMA synchronous = FULL");
      this.db.run("PRAGMA foreign_keys = OFF");
      const version = () =>
        this.db.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
      // Plugins open the file once per pod operation: take the write lock only to create it.
      if (version() !== SCHEMA_VERSION) {
        this.db
          .transaction(() => {
            const found = version();
            if (found > SCHEMA_VERSION) throw new SqliteSchemaError(path, found);
            this.db.run(SCHEMA);
            if (found < SCHEMA_VERSION) this.db.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
          })
          .immediate();
      }
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  close(): void {
    this.db.close();
  }

  meta(): { revision: number; compactRevision: number } {
    const row = this.db
      .query<{ revision: number; compact_revision: number }, []>(
        "SELECT revision, compact_revision FROM meta WHERE id = 1",
      )
      .get();
    if (!row) throw new Error(`SQLite store "${this.path}" has no meta row`);
    return { revision: row.revision, compactRevision: row.compact_revision };
  }

  setRevision(revision: number): void {
    this.db.query("UPDATE meta SET revision = ? WHERE id = 1").run(revision);
  }

  /** Drops history before `revision` (never moves the compaction point backwards). */
  compactTo(revision: number): void {
    const { compactRevision } = this.meta();
    if (revision <= compactRevision) return;
    this.db.query("DELETE FROM events WHERE revision < ?").run(revision);
    this.db.query("UPDATE meta SET compact_revision = ? WHERE id = 1").run(revision);
  }

  getKv(key: string): KvRow | undefined {
    return this.db.query<KvRow, [string]>("SELECT * FROM kv WHERE key = ?").get(key) ?? undefined;
  }

  listKv(prefix: string): KvRow[] {
    const [from, to] = rangeParams(prefix);
    return this.db
      .query<KvRow, [string, string | null]>(
        "SELECT * FROM kv WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) ORDER BY key",
      )
      .all(from, to);
  }

  /** listKv a row at a time (the caller decides how many to hold). */
  eachKv(prefix: string, fn: (row: KvRow) => void): void {
    const [from, to] = rangeParams(prefix);
    const rows = this.db
      .query<KvRow, [string, string | null]>(
        "SELECT * FROM kv WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) ORDER BY key",
      )
      .iterate(from, to);
    for (const row of rows) fn(row);
  }

  keysOfLease(lease: number): string[] {
    return this.db
      .query<{ key: string }, [number]>("SELECT key FROM kv WHERE lease = ? ORDER BY key")
      .all(lease)
      .map((r) => r.key);
  }

  upsertKv(row: KvRow): void {
    this.db
      .query(
        `INSERT INTO kv (key, value, create_rev, mod_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev,
           version = excluded.version, lease = excluded.lease`,
      )
      .run(row.key, row.value, row.create_rev, row.mod_rev, row.version, row.lease);
  }

  deleteKv(key: string): void {
    this.db.query("DELETE FROM kv WHERE key = ?").run(key);
  }

  insertEvent(e: EventRow): void {
    this.db
      .query(
        "INSERT INTO events (revision, seq, key, type, value, create_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(e.revision, e.seq, e.key, e.type, e.value, e.create_rev, e.version, e.lease);
  }

  /** Events under `prefix` with revisions in [from, to], in revision order. */
  events(prefix: string, from: number, to: number): EventRow[] {
    const [lo, hi] = rangeParams(prefix);
    return this.db
      .query<EventRow, [number, number, string, string | null]>(
        `SELECT * FROM events WHERE revision >= ?1 AND revision <= ?2 AND key >= ?3 AND (?4 IS NULL OR key < ?4)
         ORDER BY revision, seq`,
      )
      .all(from, to, lo, hi);
  }

  insertLease(ttlSeconds: number, expiresAt: number): number {
    const r = this.db.query("INSERT INTO leases (ttl, expires_at) VALUES (?, ?)").run(ttlSeconds, expiresAt);
    return Number(r.lastInsertRowid);
  }

  leaseAlive(id: number, now: number): boolean {
    return (
      this.db
        .query<{ id: number }, [number, number]>("SELECT id FROM leases WHERE id = ? AND expires_at > ?")
        .get(id, now) !== null
    );
  }

  /** Pushes a live lease's expiry out by its TTL; false if it is unknown or already expired. */
  renewLease(id: number, now: number): boolean {
    const r = this.db
      .query("UPDATE leases SET expires_at = ?2 + ttl * 1000 WHERE id = ?1 AND expires_at > ?2")
      .run(id, now);
    return r.changes > 0;
  }

  deleteLease(id: number): void {
    this.db.query("DELETE FROM leases WHERE id = ?").run(id);
  }

  expiredLeases(now: number): number[] {
    return this.db
      .query<{ id: number }, [number]>("SELECT id FROM leases WHERE expires_at <= ? ORDER BY expires_at")
      .all(now)
      .map((r) => r.id);
  }

  anyLeaseExpired(now: number): boolean {
    return (
      this.db
        .query<{ id: number }, [number]>("SELECT id FROM leases WHERE expires_at <= ? LIMIT 1")
        .get(now) !== null
    );
  }
}

/**
 * The SQLite file behind NodeState: a private directory, WAL, a busy timeout long enough for
 * a burst of pod creations, and the schema. Concurrent first openers race safely. The schema is
 * private to this folder: the plugin writes and the agent reads only through NodeState.
 */

import { constants, Database, SQLiteError } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { errorText } from "../base/error-text.ts";

/** The state directory or database cannot be used; `path` names it and `reason` says why. */
export class StateUnavailableError extends Error {
  override readonly name = "StateUnavailableError";
  readonly path: string;
  readonly reason: string;
  /** The SQLite error code when SQLite reported the failure, e.g. "SQLITE_BUSY" after the busy timeout. */
  readonly sqliteCode: string | undefined;

  constructor(path: string, reason: string, sqliteCode?: string) {
    super(`IPAM state "${path}" is unavailable: ${reason}`);
    this.path = path;
    this.reason = reason;
    this.sqliteCode = sqliteCode;
  }
}

/**
 * The schema this code writes (in `meta`, key "schema_version"):
 * 2 added the pods table; opening a version 1 database adds it (CREATE ... IF NOT EXISTS).
 * 3 added pods.netns (ALTER TABLE on a version 2 database, see migrate) and the releases table.
 * 4 added pods.readiness (the pod's readiness check as JSON, NULL for none; ALTER TABLE too).
 */
export const SCHEMA_VERSION = 4;
/**
 * `PRAGMA user_version` holds the oldest schema whose code can still use the file: a change
 * that only adds (a nullable column, a table older code never reads) keeps it, so a plugin or
 * agent of that older version still runs against the file after an upgrade in any order or a
 * rollback. Version 2 code refuses a user_version above 2, which is why it stays 2 for schemas 3
 * and 4 (version 3 code never reads pods.readiness; a row it writes anew has none, so its pod is
 * published as always ready, as version 3 would).
 * Only a change older code would corrupt raises it (and then older binaries refuse, as they must).
 */
export const READER_VERSION = 2;
const BUSY_TIMEOUT_MS = 10_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS allocations (
  network TEXT NOT NULL,
  ip TEXT NOT NULL,
  container_id TEXT NOT NULL,
  ifname TEXT NOT NULL,
  set_index INTEGER NOT NULL,
  subnet TEXT NOT NULL,
  gateway TEXT,
  allocated_at INTEGER NOT NULL,
  PRIMARY KEY (network, ip)
);
CREATE UNIQUE INDEX IF NOT EXISTS allocations_by_attachment
  ON allocations (network, container_id, ifname, set_index);
CREATE TABLE IF NOT EXISTS last_reserved (
  network TEXT NOT NULL,
  range_set TEXT NOT NULL,
  ip TEXT NOT NULL,
  PRIMARY KEY (network, range_set)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pods (
  network TEXT NOT NULL,
  container_id TEXT NOT NULL,
  ifname TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  labels TEXT NOT NULL,
  ips TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  netns TEXT,
  readiness TEXT,
  PRIMARY KEY (network, container_id, ifname)
);
CREATE TABLE IF NOT EXISTS releases (
  id INTEGER PRIMARY KEY,
  network TEXT NOT NULL,
  ip TEXT NOT NULL,
  container_id TEXT NOT NULL,
  ifname TEXT NOT NULL,
  namespace TEXT,
  name TEXT,
  released_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS releases_by_network ON releases (network, id);
`;

/** Brings a database of any older version to SCHEMA_VERSION; runs inside one IMMEDIATE transaction. */
function migrate(db: Database): void {
  db.run(SCHEMA);
  // A version 2 pods table predates netns, a version 3 one readiness; CREATE ... IF NOT EXISTS
  // left it as it was.
  const columns = db.query<{ name: string }, []>("PRAGMA table_info(pods)").all();
  if (!columns.some((c) => c.name === "netns")) db.run("ALTER TABLE pods ADD COLUMN netns TEXT");
  if (!columns.some((c) => c.name === "readiness")) db.run("ALTER TABLE pods ADD COLUMN readiness TEXT");
  db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", [String(SCHEMA_VERSION)]);
  db.run(`PRAGMA user_version = ${READER_VERSION}`);
}

/** The schema version recorded in `meta` (0 when there is none: a database before version 3). */
function writtenSchema(db: Database): number {
  try {
    const row = db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'schema_version'").get();
    return row === null ? 0 : Number(row.value) || 0;
  } catch {
    return 0; // no meta table yet
  }
}

export function reasonOf(error: unknown): string {
  if (error instanceof SQLiteError) return error.code ? `${error.message} (${error.code})` : error.message;
  return errorText(error);
}

/** Wraps a failure of the database at `path`, keeping SQLite's code for callers that retry on SQLITE_BUSY. */
export function unavailable(path: string, error: unknown): StateUnavailableError {
  if (error instanceof StateUnavailableError) return error;
  return new StateUnavailableError(
    path,
    reasonOf(error),
    error instanceof SQLiteError ? error.code : undefined,
  );
}

function validateDataDir(dataDir: string): void {
  const bad = dataDir.includes("\0")
    ? "contains a NUL byte"
    : !dataDir.startsWith("/")
      ? "is not an absolute path"
      : dataDir.split("/").includes("..")
        ? 'contains ".."'
        : undefined;
  if (bad !== undefined) throw new StateUnavailableError(dataDir, bad);
}

function isBusy(error: unknown): boolean {
  return error instanceof SQLiteError && (error.code?.startsWith("SQLITE_BUSY") ?? false);
}

/** Retries `body` while another process holds a lock the busy handler does not wait for. */
function retryBusy<T>(body: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return body();
    } catch (error) {
      if (!isBusy(error) || Date.now() > deadline) throw error;
      Bun.sleepSync(2 + Math.random() * 8);
    }
  }
}

/**
 * Opens (creating if needed) `${dataDir}/ipam.db` in WAL mode with the current schema. Runs in
 * every plugin invocation, so an up-to-date database costs only a few pragmas.
 */
export function openStateDatabase(dataDir: string): { path: string; db: Database } {
  validateDataDir(dataDir);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateUnavailableError(dataDir, `cannot create directory: ${reasonOf(error)}`);
  }
  const path = `${dataDir}/ipam.db`;
  let db: Database | undefined;
  try {
    db = new Database(path, { create: true, readwrite: true });
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Keep the WAL file when the last connection closes: each plugin run is a whole
    // open/close cycle, and deleting and recreating the file every time is wasted work.
    db.fileControl(constants.SQLITE_FCNTL_PERSIST_WAL, 1);
    const conn = db;
    const mode = retryBusy(() => conn.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get());
    if (mode?.journal_mode !== "wal") retryBusy(() => conn.run("PRAGMA journal_mode = WAL"));
    // NORMAL is durable across process crashes in WAL mode; only power loss can drop the last commits.
    db.run("PRAGMA synchronous = NORMAL");
    const version = conn.query<{ user_version: number }, []>("PRAGMA user_version").get()?.user_version ?? 0;
    // user_version is what a reader needs at least (READER_VERSION); refuse only a file this code cannot use.
    if (version > SCHEMA_VERSION) {
      throw new StateUnavailableError(
        path,
        `schema version ${version} is newer than this podnet (${SCHEMA_VERSION})`,
      );
    }
    if (version < READER_VERSION || writtenSchema(conn) < SCHEMA_VERSION)
      retryBusy(() => conn.transaction(() => migrate(conn)).immediate());
    return { path, db };
  } catch (error) {
    db?.close();
    throw unavailable(path, error);
  }
}

/**
 * Node IPAM state: which attachment (network, container, ifname) holds which address. One
 * SQLite file per data dir, shared by every concurrent plugin invocation on the node; WAL and
 * BEGIN IMMEDIATE serialise writers, and the (network, ip) primary key makes a double
 * allocation impossible even if two writers raced.
 */
import { type Database, SQLiteError } from "bun:sqlite";
import { chooseAddresses, matchHeld } from "../ipam/node-allocator.ts";
import { type RangeSet, rangeSetKey } from "../ipam/range-set.ts";
import { compareIP, formatIP, type IPAddress, parseIP } from "../ipnet/address.ts";
import { formatPrefix, type IPPrefix, parsePrefix } from "../ipnet/prefix.ts";
import { openIpamDatabase, reasonOf, StateUnavailableError, unavailable } from "./ipam-db.ts";
import type { PodIdentity } from "./pod-identity.ts";
import { type PodRow, PodRows } from "./pod-rows.ts";

export { StateUnavailableError } from "./ipam-db.ts";

export interface AttachmentKey {
  network: string;
  containerId: string;
  ifname: string;
}

export interface Allocation extends AttachmentKey {
  setIndex: number;
  ip: IPAddress;
  subnet: IPPrefix;
  gateway?: IPAddress;
}

interface Row {
  network: string;
  ip: string;
  container_id: string;
  ifname: string;
  set_index: number;
  subnet: string;
  gateway: string | null;
}

type Key = [network: string, containerId: string, ifname: string];

const COLUMNS = "network, ip, container_id, ifname, set_index, subnet, gateway";

/**
 * Statements compiled on first use (and cached by bun:sqlite's query()): a plugin invocation runs
 * two or three of them, and compiling all on every open would cost more than running them.
 */
function prepareStatements(db: Database) {
  return {
    get byKey() {
      return db.query<Row, Key>(
        `SELECT ${COLUMNS} FROM allocations WHERE network = ? AND container_id = ? AND ifname = ? ORDER BY set_index`,
      );
    },
    get byNetwork() {
      return db.query<Row, [string]>(`SELECT ${COLUMNS} FROM allocations WHERE network = ?`);
    },
    get everything() {
      return db.query<Row, []>(`SELECT ${COLUMNS} FROM allocations`);
    },
    get ipTaken() {
      return db.query<{ one: number }, [string, string]>(
        "SELECT 1 AS one FROM allocations WHERE network = ? AND ip = ?",
      );
    },
    get deleteKey() {
      return db.query<unknown, Key>(
        "DELETE FROM allocations WHERE network = ? AND container_id = ? AND ifname = ?",
      );
    },
    get insert() {
      return db.query<
        unknown,
        [...Key, ip: string, setIndex: number, subnet: string, gw: string | null, at: number]
      >(
        "INSERT INTO allocations (network, container_id, ifname, ip, set_index, subnet, gateway, allocated_at) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      );
    },
    get getLast() {
      return db.query<{ ip: string }, [string, string]>(
        "SELECT ip FROM last_reserved WHERE network = ? AND range_set = ?",
      );
    },
    get setLast() {
      return db.query<unknown, [string, string, string]>(
        "INSERT INTO last_reserved (network, range_set, ip) VALUES (?, ?, ?) " +
          "ON CONFLICT (network, range_set) DO UPDATE SET ip = excluded.ip",
      );
    },
    get touch() {
      return db.query<unknown, [string]>(
        "INSERT INTO meta (key, value) VALUES ('probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      );
    },
  };
}

export class IpamState {
  readonly path: string;
  private readonly db: Database;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly pods: PodRows;
  private readonly transact: (body: () => unknown) => unknown;
  private closed = false;

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
    this.sql = prepareStatements(db);
    this.pods = new PodRows(db);
    this.transact = db.transaction((body: () => unknown) => body()).immediate;
  }

  /** Opens (creating if needed) `${dataDir}/ipam.db`; cheap when the schema already exists. */
  static open(dataDir: string): IpamState {
    const { path, db } = openIpamDatabase(dataDir);
    try {
      return new IpamState(path, db);
    } catch (error) {
      db.close();
      throw unavailable(path, error);
    }
  }

  /**
   * Gives `key` one address per range set in a single BEGIN IMMEDIATE transaction. A repeated
   * ADD whose addresses still fit the configuration gets them back (`existing: true`). With
   * `pod`, the attachment's pod row (pod-rows.ts) is written in the same transaction.
   */
  allocate(
    key: AttachmentKey,
    rangeSets: readonly RangeSet[],
    requested: readonly IPAddress[],
    pod?: PodIdentity,
  ): { allocations: Allocation[]; existing: boolean } {
    return this.write(() => {
      const outcome = this.choose(key, rangeSets, requested);
      if (pod !== undefined)
        this.pods.put(
          key,
          pod,
          outcome.allocations.map((a) => formatIP(a.ip)),
        );
      return outcome;
    });
  }

  private choose(
    key: AttachmentKey,
    rangeSets: readonly RangeSet[],
    requested: readonly IPAddress[],
  ): { allocations: Allocation[]; existing: boolean } {
    const held = this.held(key);
    const kept = matchHeld(
      held.map((a) => a.ip),
      rangeSets,
      requested,
    );
    if (kept !== undefined) {
      const allocations = kept.map((c) => allocation(key, c));
      // A config that moved the gateway or reordered the sets changes what is reported; store that.
      if (allocations.some((a, i) => !sameRecord(a, held[i])))
        this.replace(key, allocations, rangeSets, false);
      return { allocations, existing: true };
    }
    // Whatever this attachment held no longer fits: give it up first, all in this transaction.
    if (held.length > 0) this.sql.deleteKey.run(key.network, key.containerId, key.ifname);
    const chosen = chooseAddresses({
      rangeSets,
      requested,
      isAllocated: (ip) => this.sql.ipTaken.get(key.network, formatIP(ip)) !== null,
      lastReserved: (i) => {
        const row = this.sql.getLast.get(key.network, rangeSetKey(rangeSets[i]!));
        return row === null ? undefined : parseIP(row.ip);
      },
    });
    const allocations = chosen.map((c) => allocation(key, c));
    this.replace(key, allocations, rangeSets, true);
    return { allocations, existing: false };
  }

  /**
   * Releases everything `key` holds, its pod row included; releasing nothing is not an error
   * (DEL is idempotent).
   */
  release(key: AttachmentKey): Allocation[] {
    return this.write(() => {
      const held = this.held(key);
      if (held.length > 0) this.sql.deleteKey.run(key.network, key.containerId, key.ifname);
      this.pods.delete(key);
      return held;
    });
  }

  /** The pod rows of `network` (what the node agent publishes), and the unreadable ones. */
  listPods(network: string): { rows: PodRow[]; problems: string[] } {
    return this.read(() => this.pods.list(network));
  }

  /** Attachments of `network` with a pod row (for GC, which must also find rows without addresses). */
  podKeys(network: string): AttachmentKey[] {
    return this.read(() => this.pods.keys(network));
  }

  find(key: AttachmentKey): Allocation[] {
    return this.read(() => this.held(key));
  }

  list(network: string): Allocation[] {
    return this.read(() => sorted(this.sql.byNetwork.all(network).map((row) => this.decode(row))));
  }

  /** Every allocation of every network on this node (for `podnet ipam show/check`). */
  listAll(): Allocation[] {
    return this.read(() =>
      sorted(this.sql.everything.all().map((row) => this.decode(row))).sort((a, b) =>
        a.network.localeCompare(b.network),
      ),
    );
  }

  /** Proves the database accepts writes by committing one, as STATUS must not claim readiness falsely. */
  probe(): void {
    this.write(() => this.sql.touch.run(new Date().toISOString()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private write<T>(body: () => T): T {
    return this.guard(() => this.transact(body) as T);
  }

  private read<T>(body: () => T): T {
    return this.guard(body);
  }

  private guard<T>(body: () => T): T {
    if (this.closed) throw new StateUnavailableError(this.path, "the database is closed");
    try {
      return body();
    } catch (error) {
      // Domain errors (exhaustion, bad requests) pass through; only the database failing is "unavailable".
      if (error instanceof SQLiteError) throw unavailable(this.path, error);
      throw error;
    }
  }

  private held(key: AttachmentKey): Allocation[] {
    return this.sql.byKey.all(key.network, key.containerId, key.ifname).map((row) => this.decode(row));
  }

  /** Makes `allocations` the whole holding of `key`; `reserved` also advances the round-robin cursors. */
  private replace(
    key: AttachmentKey,
    allocations: readonly Allocation[],
    rangeSets: readonly RangeSet[],
    reserved: boolean,
  ): void {
    this.sql.deleteKey.run(key.network, key.containerId, key.ifname);
    const now = Date.now();
    for (const a of allocations) {
      const ip = formatIP(a.ip);
      const gateway = a.gateway === undefined ? null : formatIP(a.gateway);
      this.sql.insert.run(
        a.network,
        a.containerId,
        a.ifname,
        ip,
        a.setIndex,
        formatPrefix(a.subnet),
        gateway,
        now,
      );
      if (reserved) this.sql.setLast.run(key.network, rangeSetKey(rangeSets[a.setIndex]!), ip);
    }
  }

  private decode(row: Row): Allocation {
    try {
      const subnet = parsePrefix(row.subnet);
      const gateway = row.gateway === null ? undefined : parseIP(row.gateway);
      const key = { network: row.network, containerId: row.container_id, ifname: row.ifname };
      return allocation(key, { setIndex: row.set_index, ip: parseIP(row.ip), range: { subnet, gateway } });
    } catch (error) {
      throw new StateUnavailableError(this.path, `corrupt allocation row for ${row.ip}: ${reasonOf(error)}`);
    }
  }
}

function sameRecord(a: Allocation, b: Allocation | undefined): boolean {
  return (
    b !== undefined &&
    a.setIndex === b.setIndex &&
    a.ip.value === b.ip.value &&
    formatPrefix(a.subnet) === formatPrefix(b.subnet) &&
    a.gateway?.value === b.gateway?.value
  );
}

function allocation(
  key: AttachmentKey,
  c: { setIndex: number; ip: IPAddress; range: { subnet: IPPrefix; gateway?: IPAddress | undefined } },
): Allocation {
  const { network, containerId, ifname } = key;
  const base = { network, containerId, ifname, setIndex: c.setIndex, ip: c.ip, subnet: c.range.subnet };
  return c.range.gateway === undefined ? base : { ...base, gateway: c.range.gateway };
}

function sorted(allocations: Allocation[]): Allocation[] {
  return allocations.sort((x, y) => compareIP(x.ip, y.ip));
}

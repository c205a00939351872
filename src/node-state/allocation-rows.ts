/**
 * The allocations table of the node state (schema in state-db.ts): one row per address an
 * attachment holds, plus the round-robin cursor of each range set and the probe row STATUS
 * writes. Statements only; NodeState decides what to run inside its transactions.
 */
import type { Database } from "bun:sqlite";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { formatIP, type IPAddress, parseIP } from "../ipnet/address.ts";
import { formatPrefix, type IPPrefix, parsePrefix } from "../ipnet/prefix.ts";
import { reasonOf, StateUnavailableError } from "./state-db.ts";

/** One address held by an attachment, from range set `setIndex`. */
export interface Allocation extends AttachmentKey {
  setIndex: number;
  ip: IPAddress;
  subnet: IPPrefix;
  gateway?: IPAddress;
  /** When the row was written (ms since the epoch); set on allocations read from the database. */
  allocatedAt?: number;
}

interface Row {
  network: string;
  ip: string;
  container_id: string;
  ifname: string;
  set_index: number;
  subnet: string;
  gateway: string | null;
  allocated_at: number;
}

type Key = [network: string, containerId: string, ifname: string];

const COLUMNS = "network, ip, container_id, ifname, set_index, subnet, gateway, allocated_at";

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

/** Statements on the allocations, last_reserved and meta tables; no transactions of their own. */
export class AllocationRows {
  private readonly sql: ReturnType<typeof prepareStatements>;

  constructor(
    db: Database,
    /** The database file, named when a row cannot be read. */
    private readonly path: string,
  ) {
    this.sql = prepareStatements(db);
  }

  /** What `key` holds, by range set. */
  held(key: AttachmentKey): Allocation[] {
    return this.sql.byKey.all(key.network, key.containerId, key.ifname).map((row) => this.decode(row));
  }

  ofNetwork(network: string): Allocation[] {
    return this.sql.byNetwork.all(network).map((row) => this.decode(row));
  }

  all(): Allocation[] {
    return this.sql.everything.all().map((row) => this.decode(row));
  }

  isTaken(network: string, ip: IPAddress): boolean {
    return this.sql.ipTaken.get(network, formatIP(ip)) !== null;
  }

  deleteHeld(key: AttachmentKey): void {
    this.sql.deleteKey.run(key.network, key.containerId, key.ifname);
  }

  insert(a: Allocation, at: number): void {
    this.sql.insert.run(
      a.network,
      a.containerId,
      a.ifname,
      formatIP(a.ip),
      a.setIndex,
      formatPrefix(a.subnet),
      a.gateway === undefined ? null : formatIP(a.gateway),
      at,
    );
  }

  /** The round-robin cursor of the range set `rangeSet` (its rangeSetKey) in `network`. */
  lastReserved(network: string, rangeSet: string): IPAddress | undefined {
    const row = this.sql.getLast.get(network, rangeSet);
    return row === null ? undefined : parseIP(row.ip);
  }

  setLastReserved(network: string, rangeSet: string, ip: IPAddress): void {
    this.sql.setLast.run(network, rangeSet, formatIP(ip));
  }

  /** Writes the probe row (its value is the time, so the write always changes the page). */
  touch(now: string): void {
    this.sql.touch.run(now);
  }

  private decode(row: Row): Allocation {
    try {
      const subnet = parsePrefix(row.subnet);
      const gateway = row.gateway === null ? undefined : parseIP(row.gateway);
      const key = { network: row.network, containerId: row.container_id, ifname: row.ifname };
      const a = allocation(key, { setIndex: row.set_index, ip: parseIP(row.ip), range: { subnet, gateway } });
      return { ...a, allocatedAt: row.allocated_at };
    } catch (error) {
      throw new StateUnavailableError(this.path, `corrupt allocation row for ${row.ip}: ${reasonOf(error)}`);
    }
  }
}

/** The allocation of address `c` (as the allocator chose or matched it) to `key`. */
export function allocation(
  key: AttachmentKey,
  c: { setIndex: number; ip: IPAddress; range: { subnet: IPPrefix; gateway?: IPAddress | undefined } },
): Allocation {
  const { network, containerId, ifname } = key;
  const base = { network, containerId, ifname, setIndex: c.setIndex, ip: c.ip, subnet: c.range.subnet };
  return c.range.gateway === undefined ? base : { ...base, gateway: c.range.gateway };
}

/**
 * The releases table of the node state (schema in state-db.ts): which attachment (and pod) last
 * held an address, written in the transaction that releases it (DEL, GC). `podnet explain` shows
 * it for a free address — an address just given back that still sits in conntrack or in another
 * node's view is a classic puzzle. Bounded: the newest RELEASES_KEPT rows per network stay.
 */
import type { Database } from "bun:sqlite";
import type { AttachmentKey } from "../cni/attachment-key.ts";

export const RELEASES_KEPT = 256;
/** The table is trimmed back to RELEASES_KEPT once every this many releases (the plugin's hot path). */
export const RELEASES_TRIM_EVERY = 32;

/** One released address (canonical text), newest first when listed. */
export interface ReleaseRow extends AttachmentKey {
  readonly ip: string;
  /** The pod that held it, when its row named one. */
  readonly namespace?: string;
  readonly name?: string;
  /** Milliseconds since the epoch. */
  readonly releasedAt: number;
}

interface Row {
  network: string;
  ip: string;
  container_id: string;
  ifname: string;
  namespace: string | null;
  name: string | null;
  released_at: number;
}

type Key = [network: string, containerId: string, ifname: string];

/** Statements on the releases table; no transactions of their own (the caller's write holds one). */
export class ReleaseRows {
  constructor(private readonly db: Database) {}

  /**
   * Records every address `key` holds as released, with the pod its row names; call before the
   * allocation and pod rows go. The plugin's hot path: one INSERT … SELECT, and once every
   * RELEASES_TRIM_EVERY ids a DELETE bounded by the (network, id) index. The ids are plain rowids
   * (no AUTOINCREMENT bookkeeping): the newest row is never deleted, so they only grow.
   */
  record(key: AttachmentKey, at: number): void {
    const inserted = this.db
      .query<unknown, [number, ...Key]>(
        "INSERT INTO releases (network, ip, container_id, ifname, namespace, name, released_at) " +
          "SELECT a.network, a.ip, a.container_id, a.ifname, p.namespace, p.name, ? FROM allocations a " +
          "LEFT JOIN pods p ON p.network = a.network AND p.container_id = a.container_id AND p.ifname = a.ifname " +
          "WHERE a.network = ? AND a.container_id = ? AND a.ifname = ? ORDER BY a.set_index",
      )
      .run(at, key.network, key.containerId, key.ifname);
    const last = Number(inserted.lastInsertRowid);
    // Trim when the ids just inserted crossed a multiple of RELEASES_TRIM_EVERY.
    if (inserted.changes === 0 || last % RELEASES_TRIM_EVERY >= inserted.changes) return;
    this.db
      .query<unknown, [string, string, number]>(
        "DELETE FROM releases WHERE network = ? AND id <= " +
          "(SELECT id FROM releases WHERE network = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
      )
      .run(key.network, key.network, RELEASES_KEPT);
  }

  /** Newest first, at most RELEASES_KEPT per network; every network when `network` is not given. */
  list(network?: string): ReleaseRow[] {
    const columns = "network, ip, container_id, ifname, namespace, name, released_at";
    // Between trims a network holds up to RELEASES_TRIM_EVERY more rows than it shows.
    const rows =
      network === undefined
        ? this.db
            .query<Row, [number]>(
              `SELECT ${columns} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY network ORDER BY id DESC) AS n ` +
                "FROM releases) WHERE n <= ? ORDER BY id DESC",
            )
            .all(RELEASES_KEPT)
        : this.db
            .query<Row, [string, number]>(
              `SELECT ${columns} FROM releases WHERE network = ? ORDER BY id DESC LIMIT ?`,
            )
            .all(network, RELEASES_KEPT);
    return rows.map((r) => ({
      network: r.network,
      containerId: r.container_id,
      ifname: r.ifname,
      ip: r.ip,
      ...(r.namespace !== null ? { namespace: r.namespace } : {}),
      ...(r.name !== null ? { name: r.name } : {}),
      releasedAt: r.released_at,
    }));
  }
}

/**
 * The releases table of the node state (schema in state-db.ts): which attachment (and pod) last
 * held an address, written in the transaction that releases it (DEL, GC). `podnet explain` shows
 * it for a free address — an address just given back that still sits in conntrack or in another
 * node's view is a classic puzzle. Bounded: the newest RELEASES_KEPT rows per network stay.
 */
import type { Database } from "bun:sqlite";
import type { AttachmentKey } from "../cni/attachment-key.ts";

export const RELEASES_KEPT = 256;

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
   * allocation and pod rows go. The plugin's hot path: one INSERT … SELECT and one DELETE bounded
   * by the (network, id) index.
   */
  record(key: AttachmentKey, at: number): void {
    this.db
      .query<unknown, [number, ...Key]>(
        "INSERT INTO releases (network, ip, container_id, ifname, namespace, name, released_at) " +
          "SELECT a.network, a.ip, a.container_id, a.ifname, p.namespace, p.name, ? FROM allocations a " +
          "LEFT JOIN pods p ON p.network = a.network AND p.container_id = a.container_id AND p.ifname = a.ifname " +
          "WHERE a.network = ? AND a.container_id = ? AND a.ifname = ? ORDER BY a.set_index",
      )
      .run(at, key.network, key.containerId, key.ifname);
    this.db
      .query<unknown, [string, string, number]>(
        "DELETE FROM releases WHERE network = ? AND id <= " +
          "(SELECT id FROM releases WHERE network = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
      )
      .run(key.network, key.network, RELEASES_KEPT);
  }

  /** Newest first; every network when `network` is not given. */
  list(network?: string): ReleaseRow[] {
    const columns = "network, ip, container_id, ifname, namespace, name, released_at";
    const rows =
      network === undefined
        ? this.db.query<Row, []>(`SELECT ${columns} FROM releases ORDER BY id DESC`).all()
        : this.db
            .query<Row, [string]>(`SELECT ${columns} FROM releases WHERE network = ? ORDER BY id DESC`)
            .all(network);
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

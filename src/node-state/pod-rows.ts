/**
 * The pods table of the node state (schema in state-db.ts): one row per attachment (network,
 * container, ifname) naming the pod it belongs to, its labels and its addresses. NodeState writes
 * rows in the transaction that allocates or releases the attachment's addresses, so a row never
 * outlives its addresses; the node agent reads them to publish the node's pods as Service
 * endpoint candidates.
 */
import type { Database } from "bun:sqlite";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import {
  isReadinessCheck,
  parseReadinessCheck,
  type ReadinessCheck,
  readinessDeclaration,
} from "./readiness-check.ts";

/** The pod an attachment serves, as the plugin read it from the ADD (plugin/pod-identity.ts). */
export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The pod's network namespace path as the runtime gave it (CNI_NETNS), for `podnet explain`. */
  readonly netns?: string;
  /** How the node agent checks the pod's readiness (readiness-check.ts); none: always ready. */
  readonly readiness?: ReadinessCheck;
}

/** One attachment as the agent reads it: the pod it serves and its addresses (canonical text). */
export interface PodRow extends AttachmentKey, PodIdentity {
  readonly ips: readonly string[];
  /** When the plugin wrote the row (ms since the epoch); only listed for diagnosis (listPods option). */
  readonly recordedAt?: number;
}

interface Row {
  network: string;
  container_id: string;
  ifname: string;
  namespace: string;
  name: string;
  labels: string;
  ips: string;
  netns: string | null;
  readiness: string | null;
  recorded_at: number;
}

type Key = [network: string, containerId: string, ifname: string];

const COLUMNS = "network, container_id, ifname, namespace, name, labels, ips, netns, readiness";

/** Statements on the pods table; no transactions of its own (the caller's write holds one). */
export class PodRows {
  constructor(private readonly db: Database) {}

  put(key: AttachmentKey, pod: PodIdentity, ips: readonly string[]): void {
    this.db
      .query<unknown, [...Key, string, string, string, string, string | null, string | null, number]>(
        `INSERT INTO pods (${COLUMNS}, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
          "ON CONFLICT (network, container_id, ifname) DO UPDATE SET namespace = excluded.namespace, " +
          "name = excluded.name, labels = excluded.labels, ips = excluded.ips, netns = excluded.netns, " +
          "readiness = excluded.readiness, recorded_at = excluded.recorded_at",
      )
      .run(
        key.network,
        key.containerId,
        key.ifname,
        pod.namespace,
        pod.name,
        JSON.stringify(pod.labels),
        JSON.stringify(ips),
        pod.netns ?? null,
        pod.readiness !== undefined ? JSON.stringify(readinessDeclaration(pod.readiness)) : null,
        Date.now(),
      );
  }

  delete(key: AttachmentKey): void {
    this.db
      .query<unknown, Key>("DELETE FROM pods WHERE network = ? AND container_id = ? AND ifname = ?")
      .run(key.network, key.containerId, key.ifname);
  }

  /** The rows of `network` by container and interface; unreadable ones are left out and named. */
  list(network: string, withRecordedAt = false): { rows: PodRow[]; problems: string[] } {
    const rows: PodRow[] = [];
    const problems: string[] = [];
    for (const row of this.db
      .query<Row, [string]>(
        `SELECT ${COLUMNS}, recorded_at FROM pods WHERE network = ? ORDER BY container_id, ifname`,
      )
      .all(network)) {
      const decoded = decode(row);
      if (typeof decoded === "string") problems.push(decoded);
      else rows.push(withRecordedAt ? { ...decoded, recordedAt: row.recorded_at } : decoded);
    }
    return { rows, problems };
  }

  /** The attachments of `network` that have a row, readable or not (for GC). */
  keys(network: string): AttachmentKey[] {
    return this.db
      .query<{ container_id: string; ifname: string }, [string]>(
        "SELECT container_id, ifname FROM pods WHERE network = ?",
      )
      .all(network)
      .map((r) => ({ network, containerId: r.container_id, ifname: r.ifname }));
  }
}

/** The row, or why it cannot be read (a row the plugin could not have written: edited, or newer). */
function decode(row: Row): PodRow | string {
  const bad = (reason: string) =>
    `pod row of ${row.container_id}/${row.ifname} in network "${row.network}" is unreadable: ${reason}`;
  let labels: unknown;
  let ips: unknown;
  try {
    labels = JSON.parse(row.labels);
    ips = JSON.parse(row.ips);
  } catch {
    return bad("labels or addresses are not JSON");
  }
  if (typeof labels !== "object" || labels === null || Array.isArray(labels))
    return bad("labels are not a JSON object");
  if (!Array.isArray(ips) || !ips.every((ip) => typeof ip === "string"))
    return bad("addresses are not a list of strings");
  let readiness: ReadinessCheck | undefined;
  if (row.readiness !== null) {
    let declared: unknown;
    try {
      declared = JSON.parse(row.readiness);
    } catch {
      return bad("the readiness check is not JSON");
    }
    const parsed = parseReadinessCheck(declared);
    if (!isReadinessCheck(parsed)) return bad(`readiness check: ${parsed.field} ${parsed.reason}`);
    readiness = parsed;
  }
  return {
    network: row.network,
    containerId: row.container_id,
    ifname: row.ifname,
    namespace: row.namespace,
    name: row.name,
    labels: labels as Record<string, string>,
    ips,
    ...(row.netns !== null ? { netns: row.netns } : {}),
    ...(readiness !== undefined ? { readiness } : {}),
  };
}

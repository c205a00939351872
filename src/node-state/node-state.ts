/**
 * The node's state: which attachment (network, container, ifname) holds which address, and
 * which pod it serves. The plugin writes it on ADD/DEL/GC; the node agent reads it to publish
 * the node's pods and report its addresses. This file is the whole contract between the two —
 * the schema and SQL stay private to this folder.
 *
 * One SQLite file per data dir, shared by every concurrent plugin invocation on the node; WAL and
 * BEGIN IMMEDIATE serialise writers, and the (network, ip) primary key makes a double
 * allocation impossible even if two writers raced.
 */
import { type Database, SQLiteError } from "bun:sqlite";
import type { AttachmentKey } from "../cni/attachment-key.ts";
import { chooseAddresses, matchHeld } from "../ipam/node-allocator.ts";
import { type RangeSet, rangeSetKey } from "../ipam/range-set.ts";
import { compareIP, formatIP, type IPAddress, ipEquals } from "../ipnet/address.ts";
import { prefixEquals } from "../ipnet/prefix.ts";
import { type Allocation, AllocationRows, allocation } from "./allocation-rows.ts";
import { type PodIdentity, type PodRow, PodRows } from "./pod-rows.ts";
import { type ReleaseRow, ReleaseRows } from "./release-rows.ts";
import { openStateDatabase, StateUnavailableError, unavailable } from "./state-db.ts";

export { POD_POKE_FILE, pokeAgent } from "./agent-poke.ts";
export type { Allocation } from "./allocation-rows.ts";
export { type HostVeth, hostVethAlias, listHostVeths } from "./host-veths.ts";
export type { PodIdentity, PodRow } from "./pod-rows.ts";
export {
  describeReadinessCheck,
  isReadinessCheck,
  parseReadinessCheck,
  type ReadinessAction,
  type ReadinessCheck,
  type ReadinessCheckProblem,
  sameReadinessCheck,
} from "./readiness-check.ts";
export { RELEASES_KEPT, type ReleaseRow } from "./release-rows.ts";
export { StateUnavailableError } from "./state-db.ts";

export class NodeState {
  readonly path: string;
  private readonly db: Database;
  private readonly allocations: AllocationRows;
  private readonly pods: PodRows;
  private readonly releases: ReleaseRows;
  private readonly transact: (body: () => unknown) => unknown;
  private closed = false;

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
    this.allocations = new AllocationRows(db, path);
    this.pods = new PodRows(db);
    this.releases = new ReleaseRows(db);
    this.transact = db.transaction((body: () => unknown) => body()).immediate;
  }

  /** Opens (creating if needed) `${dataDir}/ipam.db`; cheap when the schema already exists. */
  static open(dataDir: string): NodeState {
    const { path, db } = openStateDatabase(dataDir);
    try {
      return new NodeState(path, db);
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
    const held = this.allocations.held(key);
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
    // Whatever this attachment held no longer fits: give it up first, all in this transaction,
    // recorded as released (explain's "who held it last" covers this case too).
    if (held.length > 0) {
      this.releases.record(key, Date.now());
      this.allocations.deleteHeld(key);
    }
    const chosen = chooseAddresses({
      rangeSets,
      requested,
      isAllocated: (ip) => this.allocations.isTaken(key.network, ip),
      lastReserved: (i) => this.allocations.lastReserved(key.network, rangeSetKey(rangeSets[i]!)),
    });
    const allocations = chosen.map((c) => allocation(key, c));
    this.replace(key, allocations, rangeSets, true);
    return { allocations, existing: false };
  }

  /**
   * Releases everything `key` holds, its pod row included, and records each address in the
   * releases table (newest RELEASES_KEPT per network); releasing nothing is not an error (DEL is
   * idempotent).
   */
  release(key: AttachmentKey): Allocation[] {
    return this.write(() => {
      const held = this.allocations.held(key);
      if (held.length > 0) {
        this.releases.record(key, Date.now());
        this.allocations.deleteHeld(key);
      }
      this.pods.delete(key);
      return held;
    });
  }

  /**
   * The pod rows of `network` (what the node agent publishes), and the unreadable ones;
   * `withRecordedAt` adds when each was written (for diagnosis).
   */
  listPods(
    network: string,
    options: { withRecordedAt?: boolean } = {},
  ): { rows: PodRow[]; problems: string[] } {
    return this.read(() => this.pods.list(network, options.withRecordedAt ?? false));
  }

  /** Recently released addresses, newest first (of `network`, or of every network). */
  listReleases(network?: string): ReleaseRow[] {
    return this.read(() => this.releases.list(network));
  }

  /** Attachments of `network` with a pod row (for GC, which must also find rows without addresses). */
  podKeys(network: string): AttachmentKey[] {
    return this.read(() => this.pods.keys(network));
  }

  find(key: AttachmentKey): Allocation[] {
    return this.read(() => this.allocations.held(key));
  }

  list(network: string): Allocation[] {
    return this.read(() => sorted(this.allocations.ofNetwork(network)));
  }

  /** Every allocation of every network on this node (for `podnet ipam show/check`). */
  listAll(): Allocation[] {
    return this.read(() => sorted(this.allocations.all()).sort((a, b) => a.network.localeCompare(b.network)));
  }

  /** Proves the database accepts writes by committing one, as STATUS must not claim readiness falsely. */
  probe(): void {
    this.write(() => this.allocations.touch(new Date().toISOString()));
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

  /** Makes `allocations` the whole holding of `key`; `reserved` also advances the round-robin cursors. */
  private replace(
    key: AttachmentKey,
    allocations: readonly Allocation[],
    rangeSets: readonly RangeSet[],
    reserved: boolean,
  ): void {
    this.allocations.deleteHeld(key);
    const now = Date.now();
    for (const a of allocations) {
      this.allocations.insert(a, now);
      if (reserved) this.allocations.setLastReserved(key.network, rangeSetKey(rangeSets[a.setIndex]!), a.ip);
    }
  }
}

function sameRecord(a: Allocation, b: Allocation | undefined): boolean {
  return (
    b !== undefined &&
    a.setIndex === b.setIndex &&
    ipEquals(a.ip, b.ip) &&
    prefixEquals(a.subnet, b.subnet) &&
    a.gateway?.value === b.gateway?.value
  );
}

function sorted(allocations: Allocation[]): Allocation[] {
  return allocations.sort((x, y) => compareIP(x.ip, y.ip));
}

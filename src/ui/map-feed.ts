/**
 * The live map behind `podnet ui`: one datastore watch for every page (kept open by the daemon
 * toolkit's WatchKeeper), a snapshot read after each change, the nodes' kernel facts gathered
 * every `factsIntervalMs` while someone is watching and right after the node set changes, and a
 * version that increases whenever the map's content does. Pages wait for a version newer than the
 * one they have and get the newest map — never a queue of old ones. While the datastore cannot be
 * read or watched, the map says so (`stale`, pushed as a change) until a read and the watch work again.
 */
import { DIAGNOSIS_PREFIX } from "../cluster/diagnosis-protocol.ts";
import { ROOT } from "../cluster/keys.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import type { ClusterSnapshot } from "../diagnosis/cluster-snapshot.ts";
import { readClusterSnapshot } from "../diagnosis/snapshot-reader.ts";
import type { Store, WatchEvent } from "../store/store.ts";
import { buildClusterMap } from "./cluster-map.ts";
import { FactsGatherer, type FactsGathererOptions } from "./facts-gatherer.ts";
import type { ClusterMap, MapHost, MapStale, NamedRouter } from "./map-types.ts";

/** How often a watched feed checks whether its facts are due. */
const FRESHEN_CHECK_MS = 1000;
const encoder = new TextEncoder();

/** A map as the API sends it: made once per map, shared by every page. */
export interface SerializedMap {
  readonly json: string;
  /** `event: map` with the map as one data line (JSON has no raw newlines). */
  readonly event: Uint8Array;
}

export interface MapFeedOptions extends FactsGathererOptions {
  readonly hosts?: readonly MapHost[];
  /** Routers the operator named, checked (named-router.ts). */
  readonly routers?: readonly NamedRouter[];
  /** Changes arriving within this window make one rebuild. */
  readonly settleMs?: number;
}

/** The map could not be built yet (the datastore unreachable, no cluster): the reason. */
export class MapUnavailableError extends Error {
  override readonly name = "MapUnavailableError";
}

/** Whether a datastore change can change the map (diagnosis requests and answers cannot). */
export function concernsMap(event: WatchEvent): boolean {
  const key = event.type === "put" ? event.kv.key : event.key;
  return !key.startsWith(DIAGNOSIS_PREFIX);
}

/**
 * The map without what changes on every build, to tell a real change from a rebuild: the store
 * revision too, since the feed's own facts requests move it without changing anything shown.
 */
export function contentKey(map: ClusterMap): string {
  const { version: _v, generatedAt: _g, factsAt: _f, revision: _r, ...content } = map;
  return JSON.stringify(content);
}

const nodeSet = (s: ClusterSnapshot) =>
  s.nodes
    .map((n) => `${n.name}=${n.nodeIPs.join(",")}`)
    .sort()
    .join(" ");

export class MapFeed {
  private map: ClusterMap | undefined;
  private key = "";
  private snapshot: ClusterSnapshot | undefined;
  private version = 0;
  private lastError: Error | undefined;
  /** Why the map cannot be refreshed, by cause; `staleSince` is when the first of them began. */
  private readonly failures: { read?: string; watch?: string } = {};
  private staleSince: string | undefined;
  private waiters = new Set<() => void>();
  private watchers = 0;
  private closed = false;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  private factsTimer: ReturnType<typeof setInterval> | undefined;
  private building: Promise<void> | undefined;
  private rebuildAgain = false;
  private readonly gatherer: FactsGatherer;
  private serializedMap: (SerializedMap & { map: ClusterMap }) | undefined;
  private readonly keeper: WatchKeeper;

  constructor(
    private readonly store: Store,
    private readonly o: MapFeedOptions = {},
  ) {
    this.gatherer = new FactsGatherer(
      store,
      () => this.snapshot,
      () => this.rebuild(),
      o,
    );
    this.keeper = new WatchKeeper({
      open: async (failed) => {
        const { revision } = await this.store.list(CONFIG_PROBE_KEY);
        const watch = this.store.watch(`${ROOT}/`, {
          fromRevision: revision + 1,
          onEvents: (events) => {
            if (events.some(concernsMap)) this.changed();
          },
          onError: failed,
        });
        return [watch];
      },
      reopened: () => {
        this.failed("watch", undefined);
        this.changed();
      },
      failed: (e) => {
        this.log(`datastore watch failed: ${e.message}`);
        this.failed("watch", `watching the datastore failed: ${e.message}`);
      },
    });
  }

  /** Reads the cluster, opens the watch and gathers the first facts; throws when the datastore cannot be read. */
  async start(): Promise<void> {
    await this.keeper.open();
    await this.rebuild();
    if (this.map === undefined) throw this.lastError ?? new MapUnavailableError("the map could not be built");
    await this.gatherFacts();
    this.factsTimer = setInterval(() => {
      if (this.watchers > 0) this.freshen();
    }, FRESHEN_CHECK_MS);
  }

  close(): void {
    this.closed = true;
    this.gatherer.close();
    this.keeper.close();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    if (this.factsTimer) clearInterval(this.factsTimer);
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** The newest map; throws MapUnavailableError before the first one was built. */
  current(): ClusterMap {
    if (this.map === undefined)
      throw new MapUnavailableError(`the map is not available: ${this.lastError?.message ?? "not read yet"}`);
    return this.map;
  }

  /** `map` (the current one, normally) as JSON and as an SSE event, made once and shared by every page. */
  serialized(map: ClusterMap): SerializedMap {
    if (this.serializedMap?.map !== map) {
      const json = JSON.stringify(map);
      this.serializedMap = { map, json, event: encoder.encode(`event: map\ndata: ${json}\n\n`) };
    }
    return this.serializedMap;
  }

  /** A page is watching: facts are gathered while at least one is. Returns the matching release. */
  watch(): () => void {
    this.watchers++;
    if (this.watchers === 1) this.freshen();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.watchers--;
    };
  }

  get watching(): number {
    return this.watchers;
  }

  /**
   * The newest map once its version is above `after`, or undefined when `timeoutMs` passed (or the
   * feed closed, or `signal` aborted) first. Waiting holds no map: only a wake-up.
   */
  async next(after: number, timeoutMs: number, signal?: AbortSignal): Promise<ClusterMap | undefined> {
    if (this.map !== undefined && this.map.version > after) return this.map;
    if (this.closed || signal?.aborted) return undefined;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal?.addEventListener("abort", done);
    });
    return this.map !== undefined && this.map.version > after ? this.map : undefined;
  }

  /**
   * Gathers the facts again, in the background (facts-gatherer.ts): every node's when they are
   * older than `factsIntervalMs`, otherwise only the silent nodes whose retry is due. Called while
   * pages watch, and when a page asks for the map.
   */
  freshen(): void {
    if (!this.closed) this.gatherer.freshen();
  }

  /** Gathers every node's facts now (at most one request at a time) and rebuilds. */
  gatherFacts(): Promise<void> {
    return this.gatherer.gatherFacts();
  }

  private log(line: string): void {
    this.o.log?.(line);
  }

  private changed(): void {
    if (this.closed || this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      void this.rebuild();
    }, this.o.settleMs ?? 50);
  }

  /** Reads the snapshot and publishes a new version when the map changed; one build at a time. */
  private async rebuild(): Promise<void> {
    if (this.building) {
      this.rebuildAgain = true;
      return await this.building;
    }
    this.building = this.build().finally(() => {
      this.building = undefined;
    });
    await this.building;
    if (this.rebuildAgain && !this.closed) {
      this.rebuildAgain = false;
      await this.rebuild();
    }
  }

  private async build(): Promise<void> {
    let snapshot: ClusterSnapshot;
    try {
      snapshot = await readClusterSnapshot(this.store);
    } catch (e) {
      this.lastError = e as Error;
      this.log(`reading the datastore failed: ${(e as Error).message}`);
      this.failed("read", `reading the datastore failed: ${(e as Error).message}`);
      return;
    }
    const nodesChanged = this.snapshot !== undefined && nodeSet(this.snapshot) !== nodeSet(snapshot);
    this.snapshot = snapshot;
    this.lastError = undefined;
    this.setFailure("read", undefined);
    const candidate = buildClusterMap(
      snapshot,
      this.gatherer.facts,
      this.gatherer.missing,
      this.o.hosts ?? [],
      this.version + 1,
      new Date(),
      this.o.routers ?? [],
    );
    this.publish(candidate);
    // A node came or went, or changed address: its kernel facts are worth reading now.
    if (nodesChanged && !this.closed) void this.gatherFacts();
  }

  /** `candidate` (built as version + 1) with the current staleness, as a new version when a page would see a change. */
  private publish(built: ClusterMap): void {
    const { stale: _, ...fresh } = built;
    const stale = this.stale();
    const candidate: ClusterMap = stale === undefined ? fresh : { ...fresh, stale };
    const key = contentKey(candidate);
    if (key === this.key && this.map !== undefined) {
      // Nothing shown changed: keep the version and the map (serialized once), unless facts were read.
      if (candidate.factsAt !== undefined && candidate.factsAt !== this.map.factsAt)
        this.map = { ...this.map, factsAt: candidate.factsAt };
      return;
    }
    this.version++;
    this.key = key;
    this.map = candidate;
    for (const wake of [...this.waiters]) wake();
  }

  /** Records (a reason) or clears (undefined) why the map cannot be refreshed; pushes the change. */
  private failed(cause: "read" | "watch", reason: string | undefined): void {
    this.setFailure(cause, reason);
    if (this.map !== undefined && !this.closed) this.publish({ ...this.map, version: this.version + 1 });
  }

  private setFailure(cause: "read" | "watch", reason: string | undefined): void {
    this.failures[cause] = reason;
    if (this.failures.read === undefined && this.failures.watch === undefined) this.staleSince = undefined;
    else this.staleSince ??= new Date().toISOString();
  }

  private stale(): MapStale | undefined {
    const reason = this.failures.read ?? this.failures.watch;
    if (reason !== undefined && this.staleSince !== undefined) return { since: this.staleSince, reason };
    return undefined;
  }
}

/** Listed only for the store's revision, to watch from the one after it. */
const CONFIG_PROBE_KEY = `${ROOT}/config`;

/**
 * The live map behind `podnet ui`: one datastore watch for every page (kept open by the daemon
 * toolkit's WatchKeeper), a snapshot read after each change, the nodes' kernel facts gathered
 * every `factsIntervalMs` while someone is watching and right after the node set changes, and a
 * version that increases whenever the map's content does. Pages wait for a version newer than the
 * one they have and get the newest map — never a queue of old ones.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { DIAGNOSIS_PREFIX } from "../cluster/diagnosis-protocol.ts";
import { ROOT } from "../cluster/keys.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import type { ClusterSnapshot } from "../diagnosis/cluster-snapshot.ts";
import { collectFacts } from "../diagnosis/diagnosis-client.ts";
import { screenFacts } from "../diagnosis/screen-facts.ts";
import { readClusterSnapshot } from "../diagnosis/snapshot-reader.ts";
import type { Store, WatchEvent } from "../store/store.ts";
import { buildClusterMap, type MissingNode } from "./cluster-map.ts";
import type { ClusterMap, MapHost } from "./map-types.ts";
import { MissingRetries } from "./missing-retries.ts";

/** How often a watched feed checks whether its facts are due. */
const FRESHEN_CHECK_MS = 1000;
/** A node that did not answer is asked again (alone) this soon (it may have been starting)… */
const MISSING_RETRY_MS = 3000;
/** …and then twice as late each time it stays silent, up to this. */
const MISSING_RETRY_MAX_MS = 60_000;
const encoder = new TextEncoder();

/** A map as the API sends it: made once per map, shared by every page. */
export interface SerializedMap {
  readonly json: string;
  /** `event: map` with the map as one data line (JSON has no raw newlines). */
  readonly event: Uint8Array;
}

export interface MapFeedOptions {
  readonly hosts?: readonly MapHost[];
  /** How often the nodes' facts are gathered while a page is open. */
  readonly factsIntervalMs?: number;
  /** How long the agents get to answer a facts request. */
  readonly factsTimeoutMs?: number;
  /** The first retry of a node that did not answer; doubled per silent retry up to `missingRetryMaxMs`. */
  readonly missingRetryMs?: number;
  readonly missingRetryMaxMs?: number;
  /** Changes arriving within this window make one rebuild. */
  readonly settleMs?: number;
  readonly log?: (line: string) => void;
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
  private facts: readonly NodeFacts[] = [];
  private missing: readonly MissingNode[] = [];
  private version = 0;
  private lastError: Error | undefined;
  private waiters = new Set<() => void>();
  private watchers = 0;
  private closed = false;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  private factsTimer: ReturnType<typeof setInterval> | undefined;
  private building: Promise<void> | undefined;
  private rebuildAgain = false;
  private gathering: Promise<void> | undefined;
  private gatherAgain = false;
  private gatheredAt = 0;
  private readonly retries: MissingRetries;
  private serializedMap: (SerializedMap & { map: ClusterMap }) | undefined;
  private readonly keeper: WatchKeeper;

  constructor(
    private readonly store: Store,
    private readonly o: MapFeedOptions = {},
  ) {
    this.retries = new MissingRetries(
      o.missingRetryMs ?? MISSING_RETRY_MS,
      o.missingRetryMaxMs ?? MISSING_RETRY_MAX_MS,
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
      reopened: () => this.changed(),
      failed: (e) => this.log(`datastore watch failed: ${e.message}`),
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
   * Gathers the facts again, in the background: every node's when they are older than
   * `factsIntervalMs`, otherwise only the nodes that did not answer whose (backed-off) retry is
   * due. Called while pages watch, and when a page asks for the map.
   */
  freshen(): void {
    if (this.gathering || this.closed) return;
    const now = Date.now();
    if (now - this.gatheredAt >= (this.o.factsIntervalMs ?? 10_000)) {
      void this.gatherFacts();
      return;
    }
    const due = this.retries.due(now);
    if (due.length > 0) void this.track(this.doGather(due));
  }

  /** Gathers every node's facts now (at most one request at a time) and rebuilds. */
  gatherFacts(): Promise<void> {
    if (this.gathering) {
      this.gatherAgain = true;
      return this.gathering;
    }
    return this.track(this.doGather());
  }

  /** Makes `gather` the one running; a full gather asked for meanwhile runs after it. */
  private track(gather: Promise<void>): Promise<void> {
    this.gathering = gather.finally(() => {
      this.gathering = undefined;
      if (this.gatherAgain && !this.closed) {
        this.gatherAgain = false;
        void this.gatherFacts();
      }
    });
    return this.gathering;
  }

  /** Asks `only` those nodes (every node when absent), merges their answers with the rest, and rebuilds. */
  private async doGather(only?: readonly string[]): Promise<void> {
    if (this.closed) return;
    try {
      const snapshot = this.snapshot ?? (await readClusterSnapshot(this.store));
      const collected = await collectFacts(
        this.store,
        snapshot,
        { nodes: only === undefined ? [] : [...only], addresses: [], routeLookups: [] },
        { timeoutMs: this.o.factsTimeoutMs ?? 3000, command: "ui" },
      );
      const screened = screenFacts(snapshot, collected.facts);
      const missing = [...collected.missing, ...screened.missing];
      const asked = only === undefined ? undefined : new Set(only);
      const kept = <T extends { node: string }>(xs: readonly T[]) =>
        asked === undefined ? [] : xs.filter((x) => !asked.has(x.node));
      const order = new Map(snapshot.nodes.map((n, i) => [n.name, i]));
      this.facts = [...kept(this.facts), ...screened.facts].sort(
        (a, b) => (order.get(a.node) ?? 0) - (order.get(b.node) ?? 0),
      );
      this.missing = [...kept(this.missing), ...missing];
      this.retries.gathered(
        missing.map((m) => m.node),
        asked,
        Date.now(),
      );
    } catch (e) {
      this.log(`gathering the nodes' facts failed: ${(e as Error).message}`);
    }
    if (only === undefined) this.gatheredAt = Date.now();
    await this.rebuild();
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
      return;
    }
    const nodesChanged = this.snapshot !== undefined && nodeSet(this.snapshot) !== nodeSet(snapshot);
    this.snapshot = snapshot;
    this.lastError = undefined;
    const candidate = buildClusterMap(
      snapshot,
      this.facts,
      this.missing,
      this.o.hosts ?? [],
      this.version + 1,
      new Date(),
    );
    const key = contentKey(candidate);
    if (key === this.key && this.map !== undefined) {
      // Nothing a page shows changed: keep the version, refresh when facts were read.
      this.map = { ...this.map, ...(candidate.factsAt !== undefined ? { factsAt: candidate.factsAt } : {}) };
    } else {
      this.version++;
      this.key = key;
      this.map = candidate;
      for (const wake of [...this.waiters]) wake();
    }
    // A node came or went, or changed address: its kernel facts are worth reading now.
    if (nodesChanged && !this.closed) void this.gatherFacts();
  }
}

/** Listed only for the store's revision, to watch from the one after it. */
const CONFIG_PROBE_KEY = `${ROOT}/config`;

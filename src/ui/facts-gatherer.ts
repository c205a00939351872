/**
 * The nodes' kernel facts behind the map (ui/map-feed.ts): gathered through the datastore's
 * diagnosis requests, at most one request at a time, every node's when they are older than
 * `factsIntervalMs`, and in between only the nodes that did not answer, each when its backed-off
 * retry is due (missing-retries.ts). After every gather the feed rebuilds the map.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import type { ClusterSnapshot } from "../diagnosis/cluster-snapshot.ts";
import { collectFacts } from "../diagnosis/diagnosis-client.ts";
import { screenFacts } from "../diagnosis/screen-facts.ts";
import { readClusterSnapshot } from "../diagnosis/snapshot-reader.ts";
import type { Store } from "../store/store.ts";
import type { MissingNode } from "./cluster-map.ts";
import { MissingRetries } from "./missing-retries.ts";

/** A node that did not answer is asked again (alone) this soon (it may have been starting)… */
const MISSING_RETRY_MS = 3000;
/** …and then twice as late each time it stays silent, up to this. */
const MISSING_RETRY_MAX_MS = 60_000;

export interface FactsGathererOptions {
  /** How often every node's facts are gathered while a page is open. */
  readonly factsIntervalMs?: number;
  /** How long the agents get to answer a facts request. */
  readonly factsTimeoutMs?: number;
  /** The first retry of a node that did not answer; doubled per silent retry up to `missingRetryMaxMs`. */
  readonly missingRetryMs?: number;
  readonly missingRetryMaxMs?: number;
  readonly log?: (line: string) => void;
}

export class FactsGatherer {
  /** The latest facts of every node that answered, in the datastore's node order. */
  facts: readonly NodeFacts[] = [];
  /** The nodes that did not answer their latest request, and why. */
  missing: readonly MissingNode[] = [];
  private closed = false;
  private gathering: Promise<void> | undefined;
  private gatherAgain = false;
  private gatheredAt = 0;
  private readonly retries: MissingRetries;

  /**
   * `snapshot`: the feed's latest snapshot (read here when there is none yet); `gathered`: what
   * runs after every gather (the feed's rebuild).
   */
  constructor(
    private readonly store: Store,
    private readonly snapshot: () => ClusterSnapshot | undefined,
    private readonly gathered: () => Promise<void>,
    private readonly o: FactsGathererOptions = {},
  ) {
    this.retries = new MissingRetries(
      o.missingRetryMs ?? MISSING_RETRY_MS,
      o.missingRetryMaxMs ?? MISSING_RETRY_MAX_MS,
    );
  }

  close(): void {
    this.closed = true;
  }

  /**
   * Gathers the facts again, in the background: every node's when they are older than
   * `factsIntervalMs`, otherwise only the nodes that did not answer whose (backed-off) retry is due.
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

  /** Gathers every node's facts now (at most one request at a time), then runs `gathered`. */
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
      const snapshot = this.snapshot() ?? (await readClusterSnapshot(this.store));
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
      this.o.log?.(`gathering the nodes' facts failed: ${(e as Error).message}`);
    }
    if (only === undefined) this.gatheredAt = Date.now();
    await this.gathered();
  }
}

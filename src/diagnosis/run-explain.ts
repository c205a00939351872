/**
 * The pipeline `podnet explain` runs, shared with `podnet ui`'s /api/explain: the snapshot, every
 * node's facts about the address (collectFacts), the answers screened, then explainAddress. The
 * caller owns the store and parses the query (so a bad address costs nothing).
 */
import type { Store } from "../store/store.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { collectFacts } from "./diagnosis-client.ts";
import { type ExplainQuery, explainAddress } from "./explain.ts";
import type { Explanation } from "./explanation.ts";
import { screenFacts } from "./screen-facts.ts";
import { readClusterSnapshot } from "./snapshot-reader.ts";

export interface RunExplainOptions {
  readonly timeoutMs: number;
  /** The snapshot to explain against (read from the store when absent). */
  readonly snapshot?: ClusterSnapshot;
  /** Who asks, for the agents' logs ("explain", "ui"). */
  readonly command?: string;
  readonly now?: Date;
}

/** Explains `query` against the cluster in `store`; a node that does not answer is named, not fatal. */
export async function runExplain(
  store: Store,
  query: ExplainQuery,
  options: RunExplainOptions,
): Promise<Explanation> {
  const snapshot = options.snapshot ?? (await readClusterSnapshot(store));
  const collected = await collectFacts(
    store,
    snapshot,
    {
      nodes: [],
      addresses: [query.ip],
      // Every node's own routing decision for the address: how (and whether) it reaches it.
      routeLookups: [{ dst: query.ip }],
    },
    { timeoutMs: options.timeoutMs, ...(options.command !== undefined ? { command: options.command } : {}) },
  );
  // A node whose answer the readers cannot take is left out and named, not fatal for the rest.
  const screened = screenFacts(snapshot, collected.facts);
  const missing = [...collected.missing, ...screened.missing];
  return explainAddress(snapshot, screened.facts, query, options.now ?? new Date(), missing);
}

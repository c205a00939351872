/** The cluster's address plan in the datastore: written once, then only extended (new CIDRs). */
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { addClusterCidr } from "../ipam/cluster-config.ts";
import { decodeClusterConfig, encodeClusterConfig } from "../ipam/cluster-config-json.ts";
import type { Store } from "../store/store.ts";
import { CONFIG_KEY } from "./keys.ts";

export class ClusterNotInitializedError extends Error {
  override readonly name = "ClusterNotInitializedError";
  constructor(store: string) {
    super(
      `The datastore ${store} holds no cluster config yet (start the first agent with --cluster-cidr to create it)`,
    );
  }
}

export async function readClusterConfig(store: Store): Promise<ClusterConfig | undefined> {
  const kv = await store.get(CONFIG_KEY);
  return kv ? decodeClusterConfig(kv.value) : undefined;
}

/**
 * Writes `proposed` if the cluster has no config yet (first agent wins, by compare-and-swap),
 * and returns whatever config the cluster has afterwards.
 */
export async function initClusterConfig(store: Store, proposed: ClusterConfig): Promise<ClusterConfig> {
  const r = await store.txn(
    [{ key: CONFIG_KEY, target: "version", op: "=", value: 0 }],
    [{ kind: "put", key: CONFIG_KEY, value: encodeClusterConfig(proposed) }],
  );
  if (r.succeeded) return proposed;
  const existing = await readClusterConfig(store);
  if (!existing) throw new ClusterNotInitializedError(store.description);
  return existing;
}

/** Adds a cluster CIDR to a running cluster; existing blocks are untouched. */
export async function extendClusterCidrs(store: Store, cidr: string): Promise<ClusterConfig> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const kv = await store.get(CONFIG_KEY);
    if (!kv) throw new ClusterNotInitializedError(store.description);
    const next = addClusterCidr(decodeClusterConfig(kv.value), cidr);
    const r = await store.txn(
      [{ key: CONFIG_KEY, target: "modRevision", op: "=", value: kv.modRevision }],
      [{ kind: "put", key: CONFIG_KEY, value: encodeClusterConfig(next) }],
    );
    if (r.succeeded) return next;
  }
  throw new Error("Cannot update the cluster config: it keeps changing under us");
}

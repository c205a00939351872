/**
 * The cluster as the datastore describes it at one revision, as plain data: what `podnet explain`
 * and `podnet trace` compare every node's kernel against. Read by `snapshot-reader.ts`; everything
 * else in this folder only takes it as a value.
 */
import type { NodeRecord } from "../cluster/node-record.ts";
import type { Endpoint, PodRecord, Service } from "../k8s/service-model.ts";

export interface BlockLeaseView {
  /** "10.244.1.0/24". */
  readonly block: string;
  readonly node: string;
  /** When the node claimed it (ISO 8601), when the record says. */
  readonly claimedAt?: string;
  /** Whether the store keeps it under a lease (a live node's) or without one (grace after the node left). */
  readonly leased: boolean;
}

export interface ServiceView {
  readonly service: Service;
  /** The pods its selector picks, as every agent's proxy computes them. */
  readonly endpoints: readonly Endpoint[];
}

export interface ClusterSnapshot {
  /** The store's description ("sqlite:/path", "etcd://…"). */
  readonly store: string;
  readonly revision: number;
  readonly readAt: string;
  readonly config: {
    readonly clusterCidrs: readonly string[];
    readonly serviceCidrs: readonly string[];
    /** Node block prefix length per family ("4" → 24). */
    readonly nodeBlockLength: Readonly<Record<string, number>>;
  };
  readonly nodes: readonly NodeRecord[];
  readonly blocks: readonly BlockLeaseView[];
  readonly pods: readonly PodRecord[];
  readonly services: readonly ServiceView[];
  /** Records that could not be parsed, with the reason. */
  readonly invalid: readonly string[];
}

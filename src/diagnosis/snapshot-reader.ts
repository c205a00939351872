/**
 * Reads the cluster as the datastore describes it: config, node records, block leases, pod
 * records and Services with their endpoints. Everything comes from ONE list of the cluster's
 * prefix, so every part is of the same revision (reading them one by one could show a pod whose
 * node record was already gone). Records that do not parse are collected with the reason rather
 * than failing the read: a broken record is itself something `podnet explain` should show.
 */
import { parseBlockLease } from "../cluster/block-leases.ts";
import { ClusterNotInitializedError } from "../cluster/cluster-config-store.ts";
import { BLOCKS_PREFIX, CONFIG_KEY, NODES_PREFIX, ROOT } from "../cluster/keys.ts";
import type { NodeRecord } from "../cluster/node-record.ts";
import { InvalidNodeRecordError, parseNodeRecord } from "../cluster/node-record.ts";
import { InvalidPodRecordError, PODS_PREFIX, parsePodRecord } from "../cluster/pod-records.ts";
import { InvalidServiceRecordError } from "../cluster/service-errors.ts";
import { parseServiceRecord, SERVICES_PREFIX } from "../cluster/service-record.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { decodeClusterConfig } from "../ipam/cluster-config-json.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import type { Endpoint, PodRecord, Service } from "../k8s/service-model.ts";
import { endpointsOf } from "../k8s/service-model.ts";
import type { KeyValue, Store } from "../store/store.ts";
import type { BlockLeaseView, ClusterSnapshot, ServiceView } from "./cluster-snapshot.ts";

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** "4" → 24, "6" → 64: the snapshot keys block lengths by family number. */
function blockLengths(config: ClusterConfig): Record<string, number> {
  const out: Record<string, number> = {};
  if (config.nodeBlockLength.ipv4 !== undefined) out["4"] = config.nodeBlockLength.ipv4;
  if (config.nodeBlockLength.ipv6 !== undefined) out["6"] = config.nodeBlockLength.ipv6;
  return out;
}

/** Parses one record, turning the parser's own error type into a line of `invalid` naming the key. */
function tryRecord<T>(
  invalid: string[],
  key: string,
  parse: () => T,
  isInvalid: (e: unknown) => boolean,
): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (!isInvalid(e)) throw e;
    const message = (e as Error).message;
    invalid.push(message.includes(key) ? message : `${key}: ${message}`);
    return undefined;
  }
}

function blockView(kv: KeyValue, invalid: string[]): BlockLeaseView | undefined {
  const lease = parseBlockLease(kv);
  if (!lease) {
    invalid.push(`Block lease ${kv.key}: not a block key with a JSON value naming its node`);
    return undefined;
  }
  return {
    block: formatPrefix(lease.block),
    node: lease.node,
    ...(lease.claimedAt !== undefined ? { claimedAt: lease.claimedAt } : {}),
    leased: kv.lease !== undefined,
  };
}

const sortedEndpoints = (service: Service, pods: readonly PodRecord[]): Endpoint[] =>
  endpointsOf(service, pods).sort((a, b) => (a.pod === b.pod ? cmp(a.ip, b.ip) : cmp(a.pod, b.pod)));

/** Builds a snapshot from the key-values of one list of the cluster prefix (pure; tested alone). */
export function snapshotFromKvs(
  store: string,
  kvs: readonly KeyValue[],
  revision: number,
  readAt: Date,
): ClusterSnapshot {
  const configKv = kvs.find((kv) => kv.key === CONFIG_KEY);
  if (!configKv) throw new ClusterNotInitializedError(store);
  const config = decodeClusterConfig(configKv.value);
  const invalid: string[] = [];
  const nodes: NodeRecord[] = [];
  const blocks: BlockLeaseView[] = [];
  const pods: PodRecord[] = [];
  const services: Service[] = [];
  for (const kv of kvs) {
    if (kv.key.startsWith(NODES_PREFIX)) {
      const node = tryRecord(
        invalid,
        kv.key,
        () => parseNodeRecord(kv.key, kv.value),
        (e) => e instanceof InvalidNodeRecordError,
      );
      if (node) nodes.push(node);
    } else if (kv.key.startsWith(BLOCKS_PREFIX)) {
      const block = blockView(kv, invalid);
      if (block) blocks.push(block);
    } else if (kv.key.startsWith(PODS_PREFIX)) {
      const pod = tryRecord(
        invalid,
        kv.key,
        () => parsePodRecord(kv.key, kv.value),
        (e) => e instanceof InvalidPodRecordError,
      );
      if (pod) pods.push(pod);
    } else if (kv.key.startsWith(SERVICES_PREFIX)) {
      const service = tryRecord(
        invalid,
        kv.key,
        () => parseServiceRecord(kv.key, kv.value),
        (e) => e instanceof InvalidServiceRecordError,
      );
      if (service) services.push(service);
    }
  }
  nodes.sort((a, b) => cmp(a.name, b.name));
  pods.sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
  services.sort((a, b) =>
    a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace),
  );
  const serviceViews: ServiceView[] = services.map((service) => ({
    service,
    endpoints: sortedEndpoints(service, pods),
  }));
  return {
    store,
    revision,
    readAt: readAt.toISOString(),
    config: {
      clusterCidrs: config.clusterCidrs.map(formatPrefix),
      serviceCidrs: config.serviceCidrs.map(formatPrefix),
      nodeBlockLength: blockLengths(config),
    },
    nodes,
    blocks,
    pods,
    services: serviceViews,
    invalid,
  };
}

/** The cluster at the datastore's current revision. Throws ClusterNotInitializedError on an empty datastore. */
export async function readClusterSnapshot(store: Store): Promise<ClusterSnapshot> {
  const { kvs, revision } = await store.list(`${ROOT}/`);
  return snapshotFromKvs(store.description, kvs, revision, new Date());
}

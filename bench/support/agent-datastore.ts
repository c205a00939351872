/**
 * What the benchmarks that run a real `podnet agent` fed from a SQLite datastore share: the node
 * namespace it runs in (an uplink eth0 with an address, nothing behind it) and the records that
 * describe the benchmark's Services — the Service records `podnet service create` writes (without
 * its ClusterIP bookkeeping, which the agent never reads) and each endpoint as the pod record of
 * another node, which has no agent, so nothing reconciles those records away.
 */
import { podRecordKey } from "../../src/cluster/pod-records.ts";
import { encodeService, serviceRecordKey } from "../../src/cluster/service-record.ts";
import type { Endpoint, PodRecord, Service } from "../../src/k8s/service-model.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { openSqliteStore } from "../../src/store/sqlite-store.ts";
import type { TxnOp } from "../../src/store/store.ts";
import type { BenchSandbox } from "./sandbox.ts";

/** The node that "runs" the endpoints. */
export const ENDPOINT_NODE = "node-b";
const WRITE_BATCH = 500;

export interface ServiceWithEndpoints {
  readonly service: Service;
  readonly endpoints: readonly Endpoint[];
}

/** The pod record behind endpoint `index` of `entry` (pod "ns/name" → its namespace and name). */
export function endpointPodRecord(entry: ServiceWithEndpoints, index: number): PodRecord {
  const e = entry.endpoints[index];
  if (e === undefined) throw new RangeError(`Service ${entry.service.name} has no endpoint #${index}`);
  return {
    namespace: entry.service.namespace,
    name: e.pod.slice(e.pod.indexOf("/") + 1),
    node: ENDPOINT_NODE,
    ips: [e.ip],
    labels: { ...entry.service.selector },
  };
}

/** Writes every Service and its endpoints' pod records into the SQLite datastore, in batches. */
export async function writeServiceRecords(
  datastore: string,
  entries: readonly ServiceWithEndpoints[],
): Promise<void> {
  const store = openSqliteStore(datastore);
  try {
    let ops: TxnOp[] = [];
    const flush = async () => {
      if (ops.length === 0) return;
      const r = await store.txn([], ops);
      if (!r.succeeded) throw new Error(`writing ${ops.length} records to ${datastore} failed`);
      ops = [];
    };
    for (const entry of entries) {
      const s = entry.service;
      ops.push({ kind: "put", key: serviceRecordKey(s.namespace, s.name), value: encodeService(s) });
      for (let i = 0; i < entry.endpoints.length; i++) {
        const pod = endpointPodRecord(entry, i);
        ops.push({ kind: "put", key: podRecordKey(pod), value: JSON.stringify(pod) });
      }
      if (ops.length >= WRITE_BATCH) await flush();
    }
    await flush();
  } finally {
    await store.close();
  }
}

/**
 * Creates the namespace `${prefix}${local}` as a node: eth0 (a veth whose peer stays in the same
 * namespace, so the link is up) with 192.0.2.10/24, the agent's uplink. Returns its name.
 */
export function createAgentNode(sandbox: BenchSandbox, local: string): string {
  const { name: netns } = sandbox.createNetns(local);
  const ip = (...args: string[]) => mustRunSync(["ip", "-n", netns, ...args]);
  ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0p");
  ip("addr", "add", "192.0.2.10/24", "dev", "eth0");
  ip("link", "set", "eth0", "up");
  ip("link", "set", "eth0p", "up");
  return netns;
}

/** Node records in the datastore: announced under the node's lease, listed and watched by peers. */

import type { Store, Watch, WatchEvent } from "../store/store.ts";
import { NODES_PREFIX, nodeKey } from "./keys.ts";
import type { NodeRecord } from "./node-record.ts";
import { InvalidNodeRecordError, parseNodeRecord } from "./node-record.ts";

export async function announceNode(store: Store, record: NodeRecord, leaseId: string): Promise<void> {
  await store.put(nodeKey(record.name), JSON.stringify(record), { lease: leaseId });
}

export interface NodeList {
  readonly nodes: NodeRecord[];
  /** Records that could not be read, with the reason (surfaced in logs and metrics). */
  readonly invalid: string[];
  readonly revision: number;
}

export async function listNodes(store: Store): Promise<NodeList> {
  const { kvs, revision } = await store.list(NODES_PREFIX);
  const nodes: NodeRecord[] = [];
  const invalid: string[] = [];
  for (const kv of kvs) {
    try {
      nodes.push(parseNodeRecord(kv.key, kv.value));
    } catch (e) {
      if (!(e instanceof InvalidNodeRecordError)) throw e;
      invalid.push(e.message);
    }
  }
  return { nodes, invalid, revision };
}

/** Calls `onChange` for every change to any node record from `fromRevision` on. */
export function watchNodes(
  store: Store,
  fromRevision: number,
  onChange: (events: readonly WatchEvent[]) => void,
  onError: (e: Error) => void,
): Watch {
  return store.watch(NODES_PREFIX, { fromRevision, onEvents: onChange, onError });
}

/**
 * What the pod publisher must change in the datastore (pure): the node's pod rows, merged into one
 * record per pod, against the records stored under the node's prefix. Anything stored there that
 * the rows do not describe goes (pods deleted while the agent was down, or written by hand), and
 * a record on another lease is written again, so every record dies with the node's current lease.
 */
import { checkPodRecord, InvalidPodRecordError, podRecordKey } from "../cluster/pod-records.ts";
import type { PodRecord } from "../k8s/service-model.ts";
import { sameLabels } from "../k8s/service-model.ts";
import type { PodRow } from "../node-state/node-state.ts";
import { declaringRow, readinessAttachment } from "./readiness-pods.ts";

export interface DesiredPods {
  /** Canonical records (checkPodRecord's output), by key. */
  readonly records: readonly PodRecord[];
  /** Rows that could not become a record, or that disagree with another row of their pod. */
  readonly problems: readonly string[];
}

/** A record as the datastore holds it. */
export interface StoredRecord {
  readonly key: string;
  readonly value: string;
  readonly lease?: string;
}

export interface PodSyncPlan {
  readonly puts: readonly PodRecord[];
  readonly deletes: readonly string[];
}

const attachment = (r: PodRow) => `${r.containerId}/${r.ifname}`;

/** Readiness the checks set for one attachment of a pod (readinessAttachment). */
export interface AttachedReadiness {
  readonly ready: boolean;
  readonly attachment: string;
}

/**
 * Readiness of pods by "namespace/name", as the agent's checks found it: for the attachment
 * whose check ran, or (a bare boolean) for the pod whatever its attachment. A pod with nothing
 * here, or whose entry is for another attachment (a pod of the same name that is gone), is
 * ready when none of its rows declares a check and not ready when one does: nothing has checked
 * it yet, and a checked pod starts not ready.
 */
export type PodReadiness = ReadonlyMap<string, boolean | AttachedReadiness>;

/** Whether a pod (its rows) is published ready, given what the checks set for it. */
export function podReady(group: readonly PodRow[], set: boolean | AttachedReadiness | undefined): boolean {
  if (typeof set === "boolean") return set;
  const declaring = declaringRow(group);
  if (declaring === undefined) return true;
  return set !== undefined && set.attachment === readinessAttachment(declaring) && set.ready;
}

const NO_READINESS: PodReadiness = new Map();

/**
 * One record per pod (namespace/name): a pod with several attachments (interfaces, or an old
 * sandbox whose DEL is still to come) is one endpoint candidate with all their addresses. Rows
 * are taken in container/interface order, so the first one's labels win a disagreement. A pod
 * not ready (podReady) is published with `ready: false`.
 */
export function desiredPodRecords(
  node: string,
  rows: readonly PodRow[],
  readiness: PodReadiness = NO_READINESS,
): DesiredPods {
  const problems: string[] = [];
  const byPod = new Map<string, PodRow[]>();
  const ordered = [...rows].sort((a, b) => (attachment(a) < attachment(b) ? -1 : 1));
  for (const row of ordered) {
    const pod = `${row.namespace}/${row.name}`;
    byPod.set(pod, [...(byPod.get(pod) ?? []), row]);
  }
  const records: PodRecord[] = [];
  for (const [pod, group] of byPod) {
    const first = group[0] as PodRow;
    for (const other of group.slice(1)) {
      if (!sameLabels(other.labels, first.labels))
        problems.push(
          `pod "${pod}": attachment ${attachment(other)} has other labels than ${attachment(first)}; publishing those of ${attachment(first)}`,
        );
    }
    const ips = [...new Set(group.flatMap((r) => r.ips))];
    const ready = podReady(group, readiness.get(pod));
    try {
      records.push(
        checkPodRecord({
          namespace: first.namespace,
          name: first.name,
          node,
          ips,
          labels: first.labels,
          ready,
        }),
      );
    } catch (e) {
      if (!(e instanceof InvalidPodRecordError)) throw e;
      problems.push(`${e.message} (from attachment ${group.map(attachment).join(", ")}); not published`);
    }
  }
  records.sort((a, b) => (podRecordKey(a) < podRecordKey(b) ? -1 : 1));
  return { records, problems };
}

/** The writes that make `stored` (everything under the node's prefix) equal `desired` on `leaseId`. */
export function planPodSync(
  desired: readonly PodRecord[],
  stored: readonly StoredRecord[],
  leaseId: string,
): PodSyncPlan {
  const have = new Map(stored.map((kv) => [kv.key, kv]));
  const wanted = new Set(desired.map(podRecordKey));
  const puts = desired.filter((record) => {
    const kv = have.get(podRecordKey(record));
    return kv === undefined || kv.value !== JSON.stringify(record) || kv.lease !== leaseId;
  });
  const deletes = stored.map((kv) => kv.key).filter((key) => !wanted.has(key));
  return { puts, deletes };
}

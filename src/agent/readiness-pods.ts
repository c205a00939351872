/**
 * Which pods of the node have a readiness check to run (pure): the pod rows merged per pod
 * (namespace/name), as the pod publisher merges them into one record. A pod's check and the
 * address it is run against come from its first attachment that declares one (rows in container
 * and interface order); the address is that attachment's first (the primary family, as kubelet
 * checks `status.podIP`).
 */
import { type PodRow, type ReadinessCheck, sameReadinessCheck } from "../node-state/node-state.ts";

const attachment = (r: PodRow) => `${r.containerId}/${r.ifname}`;

/**
 * Which attachment a pod's readiness belongs to: its container, interface and when the plugin
 * wrote the row ("c1/eth0@1733490000000"). A pod deleted and created again under the same name,
 * even with the same address and check, is another attachment, so it starts over, not ready.
 */
export function readinessAttachment(row: PodRow): string {
  return `${row.containerId}/${row.ifname}@${row.recordedAt ?? ""}`;
}

/** Of one pod's rows, the one whose check is run: the first (in container/interface order) that declares one. */
export function declaringRow(group: readonly PodRow[]): PodRow | undefined {
  return [...group]
    .sort((a, b) => (attachment(a) < attachment(b) ? -1 : 1))
    .find((r) => r.readiness !== undefined);
}

export interface CheckedPod {
  /** "namespace/name", as the publisher keys readiness. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly check: ReadinessCheck;
  /** When the attachment was recorded (ms since the epoch): the initial delay counts from it. */
  readonly attachedAt: number;
  /** The checked attachment (readinessAttachment): its readiness is not another pod's. */
  readonly attachment: string;
}

export function checkedPods(
  rows: readonly PodRow[],
  now = Date.now(),
): { pods: CheckedPod[]; problems: string[] } {
  const ordered = [...rows].sort((a, b) => (attachment(a) < attachment(b) ? -1 : 1));
  const byPod = new Map<string, PodRow[]>();
  for (const row of ordered) {
    const key = `${row.namespace}/${row.name}`;
    byPod.set(key, [...(byPod.get(key) ?? []), row]);
  }
  const pods: CheckedPod[] = [];
  const problems: string[] = [];
  for (const [key, group] of byPod) {
    const declaring = group.filter((r) => r.readiness !== undefined);
    const first = declaring[0];
    if (first?.readiness === undefined) continue;
    for (const other of declaring.slice(1))
      if (!sameReadinessCheck(other.readiness, first.readiness))
        problems.push(
          `pod "${key}": attachment ${attachment(other)} declares another readiness check than ${attachment(first)}; checking that of ${attachment(first)}`,
        );
    const ip = first.ips[0];
    if (ip === undefined) {
      problems.push(
        `pod "${key}": attachment ${attachment(first)} declares a readiness check but has no address`,
      );
      continue;
    }
    pods.push({
      key,
      namespace: first.namespace,
      name: first.name,
      ip,
      check: first.readiness,
      attachedAt: first.recordedAt ?? now,
      attachment: readinessAttachment(first),
    });
  }
  return { pods, problems };
}

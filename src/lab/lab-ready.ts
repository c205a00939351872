/**
 * Whether lab pods are ready, as their records in the datastore say: a pod a Service selects is
 * listed among its endpoints (ready) or its not-ready endpoints (`ready: false`, its check fails
 * or has not yet succeeded). Read with `podnet service list` inside a node, as an operator would.
 */
import { pollUntil } from "../base/poll-until.ts";
import { listLabServices } from "./lab-services.ts";
import type { LabPod, LabState } from "./lab-state.ts";

/** How long a pod with a check may take to become ready (checks run every second). */
export const READY_LIMIT_MS = 20_000;

export const podRef = (pod: Pick<LabPod, "name" | "namespace">) =>
  `${pod.namespace ?? "default"}/${pod.name}`;

/** NAMESPACE/NAME → ready, for every pod some Service selects. */
export async function podReadiness(state: LabState): Promise<Map<string, boolean>> {
  const ready = new Map<string, boolean>();
  for (const s of await listLabServices(state)) {
    for (const e of s.notReadyEndpoints ?? []) ready.set(e.pod, false);
    for (const e of s.endpoints) ready.set(e.pod, true);
  }
  return ready;
}

/**
 * Waits until the record of every pod in `pods` is ready (each must be selected by a Service);
 * returns the milliseconds it took. Throws naming the pods still not ready after the limit.
 */
export async function waitPodsReady(
  state: LabState,
  pods: readonly LabPod[],
  limitMs = READY_LIMIT_MS,
): Promise<number> {
  let pending = pods.map(podRef);
  const { ms } = await pollUntil(
    `the readiness checks of ${pods.length} pods to succeed`,
    async () => {
      const ready = await podReadiness(state);
      pending = pending.filter((p) => ready.get(p) !== true);
      return pending.length === 0;
    },
    limitMs,
    { detail: () => `not ready: ${pending.join(", ")} (see the agents' logs)`, intervalMs: 200 },
  );
  return ms;
}

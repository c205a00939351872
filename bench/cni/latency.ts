/**
 * Serial ADD and DEL latency. Pods are attached in rounds: each round creates a fresh batch of pod
 * namespaces for both subjects (outside the timed region), then runs one subject's batch (all ADDs,
 * then all DELs) and the other's, alternating who goes first (P R, R P, P R, ...), so a burst of
 * machine noise or kernel cleanup work lands on both sides alike. The namespaces are deleted at
 * the end of the round, which bounds how many exist at once.
 */
import type { Pod, Subject, SubjectKey } from "./subjects.ts";

export type FailureSink = (message: string) => void;
export type Progress = (message: string) => void;
export type Subjects = Readonly<Record<SubjectKey, Subject>>;

export interface SerialSamples {
  readonly add: number[];
  readonly del: number[];
}

export interface LatencyOptions {
  readonly pods: number;
  readonly batch: number;
}

/** Round r runs podnet first when r is even and the reference first when it is odd. */
export function roundOrder(round: number): [SubjectKey, SubjectKey] {
  return round % 2 === 0 ? ["podnet", "reference"] : ["reference", "podnet"];
}

/** Sizes of the rounds: full batches and a last, smaller one for the remainder. */
export function roundSizes(pods: number, batch: number): number[] {
  const sizes: number[] = [];
  for (let left = pods; left > 0; left -= batch) sizes.push(Math.min(batch, left));
  return sizes;
}

async function serialBatch(
  subject: Subject,
  pods: readonly Pod[],
  into: SerialSamples,
  fail: FailureSink,
): Promise<void> {
  const results: unknown[] = [];
  for (const pod of pods) {
    const r = await subject.add(pod);
    if (r.ok) into.add.push(r.ms);
    else fail(r.error);
    results.push(r.ok ? r.output : undefined);
  }
  for (const [i, pod] of pods.entries()) {
    const r = await subject.del(pod, results[i]);
    if (r.ok) into.del.push(r.ms);
    else fail(r.error);
  }
}

export async function measureLatency(
  subjects: Subjects,
  opts: LatencyOptions,
  fail: FailureSink,
  progress: Progress,
): Promise<Record<SubjectKey, SerialSamples>> {
  const samples: Record<SubjectKey, SerialSamples> = {
    podnet: { add: [], del: [] },
    reference: { add: [], del: [] },
  };
  const sizes = roundSizes(opts.pods, opts.batch);
  for (const [round, size] of sizes.entries()) {
    const order = roundOrder(round);
    const pods = new Map<SubjectKey, Pod[]>();
    try {
      for (const key of order)
        pods.set(
          key,
          Array.from({ length: size }, () => subjects[key].createPod(`l${round}`)),
        );
      for (const key of order) await serialBatch(subjects[key], pods.get(key) ?? [], samples[key], fail);
    } finally {
      for (const key of order) for (const pod of pods.get(key) ?? []) subjects[key].deletePod(pod);
    }
    progress(`latency round ${round + 1}/${sizes.length} (${size} pods each, ${order.join(" then ")})`);
  }
  return samples;
}

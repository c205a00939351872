/**
 * Serial ADD and DEL latency. Pods are attached in rounds: each round creates a fresh batch of pod
 * namespaces for every subject (outside the timed region), then runs each subject's batch in turn
 * (all ADDs, then all DELs), the order rotating from round to round (P A R, A R P, R P A, ...), so
 * a burst of machine noise or kernel cleanup work lands on every side alike. The namespaces are
 * deleted at the end of the round, which bounds how many exist at once.
 */
import type { Pod, Subject, SubjectKey } from "./subjects.ts";
import { SUBJECTS } from "./subjects.ts";

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

/** The subjects in round r's order: SUBJECTS rotated by r, so each leads as often as the others. */
export function roundOrder(round: number): SubjectKey[] {
  const k = round % SUBJECTS.length;
  return [...SUBJECTS.slice(k), ...SUBJECTS.slice(0, k)];
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
    agent: { add: [], del: [] },
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

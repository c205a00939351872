/**
 * Concurrent throughput: N pods ADDed by `concurrency` workers at once (as a kubelet starting a
 * burst of pods does), then DELed the same way. The clock runs from the first spawn to the last
 * exit. Rounds take the subjects in turn, rotating like the latency rounds; pod namespaces are created
 * before and deleted after each subject's round, outside the timed region.
 */
import type { FailureSink, Progress, Subjects } from "./latency.ts";
import { roundOrder } from "./latency.ts";
import type { OpOutcome, Pod, Subject, SubjectKey } from "./subjects.ts";

export interface ThroughputOptions {
  readonly pods: number;
  readonly concurrency: number;
  readonly rounds: number;
}

export interface PhaseRun {
  readonly pods: number;
  readonly succeeded: number;
  readonly seconds: number;
  /** Latency of each successful operation while the others ran alongside. */
  readonly opMs: number[];
}

export interface ThroughputRound {
  readonly add: PhaseRun;
  readonly del: PhaseRun;
}

/** Runs `op` over every item with at most `concurrency` in flight; results in item order. */
export async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  op: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await op(items[i] as T, i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

async function phase(
  pods: readonly Pod[],
  concurrency: number,
  fail: FailureSink,
  op: (pod: Pod, i: number) => Promise<OpOutcome>,
): Promise<{ run: PhaseRun; outcomes: OpOutcome[] }> {
  const start = performance.now();
  const outcomes = await runPool(pods, concurrency, op);
  const seconds = (performance.now() - start) / 1000;
  const opMs: number[] = [];
  for (const o of outcomes) {
    if (o.ok) opMs.push(o.ms);
    else fail(o.error);
  }
  return { run: { pods: pods.length, succeeded: opMs.length, seconds, opMs }, outcomes };
}

async function oneRound(
  subject: Subject,
  round: number,
  opts: ThroughputOptions,
  fail: FailureSink,
): Promise<ThroughputRound> {
  const pods: Pod[] = [];
  try {
    for (let i = 0; i < opts.pods; i++) pods.push(subject.createPod(`t${round}`));
    const add = await phase(pods, opts.concurrency, fail, (pod) => subject.add(pod));
    const del = await phase(pods, opts.concurrency, fail, (pod, i) => {
      const added = add.outcomes[i];
      return subject.del(pod, added?.ok ? added.output : undefined);
    });
    return { add: add.run, del: del.run };
  } finally {
    for (const pod of pods) subject.deletePod(pod);
  }
}

export async function measureThroughput(
  subjects: Subjects,
  opts: ThroughputOptions,
  fail: FailureSink,
  progress: Progress,
): Promise<Record<SubjectKey, ThroughputRound[]>> {
  const rounds: Record<SubjectKey, ThroughputRound[]> = { podnet: [], agent: [], reference: [] };
  for (let r = 0; r < opts.rounds; r++) {
    for (const key of roundOrder(r)) {
      const result = await oneRound(subjects[key], r, opts, fail);
      rounds[key].push(result);
      progress(
        `throughput round ${r + 1}/${opts.rounds} ${key}: ADD ${(result.add.succeeded / result.add.seconds).toFixed(1)} pods/s, DEL ${(result.del.succeeded / result.del.seconds).toFixed(1)} pods/s`,
      );
    }
  }
  return rounds;
}

/** Successful pods per second over all rounds (total pods / total time, not a mean of rates). */
export function podsPerSecond(runs: readonly PhaseRun[]): number {
  const pods = runs.reduce((s, r) => s + r.succeeded, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  return seconds === 0 ? 0 : pods / seconds;
}

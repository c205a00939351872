/**
 * explain against its anchor, in rounds: each round runs `podnet explain` once for every address
 * and the anchor script once, the order rotating from round to round (anchor, pod, ClusterIP, ...;
 * pod, ClusterIP, ..., anchor; ...) so a burst of machine noise or of the agents' own resync work
 * lands on every subject alike. Warm-up rounds run the same turns unmeasured (page cache, the
 * agents' first diagnosis request).
 */
import { roundOrder } from "../proxy/connection-plan.ts";
import { checkExplainAnswer } from "./answer-checks.ts";
import { anchorSteps, explainArgv } from "./diagnosis-commands.ts";
import type { DiagnosisSubjects, ExplainKey } from "./subjects.ts";
import { EXPLAIN_KEYS } from "./subjects.ts";
import { exitProblem, timedCommand } from "./timed-command.ts";

export type FailureSink = (message: string) => void;
export type Progress = (message: string) => void;

export interface ExplainSamples {
  /** ms of every explain that answered as it should, per address. */
  readonly ms: Record<ExplainKey, number[]>;
  /** ms of every complete anchor run (all its commands succeeded). */
  readonly anchorMs: number[];
  /** Per anchor step label, the ms of that command summed over the nodes, per complete run. */
  readonly anchorStepMs: Record<string, number[]>;
}

export interface ExplainOptions {
  readonly rounds: number;
  readonly warmup: number;
}

type Turn = ExplainKey | "anchor";
const TURNS: readonly Turn[] = ["anchor", ...EXPLAIN_KEYS];

/** One anchor run: every command in turn; its wall time, per-label times, or the first failure. */
async function runAnchor(
  exe: string,
  lab: DiagnosisSubjects,
): Promise<{ ms: number; steps: Map<string, number> } | { problem: string }> {
  const steps = new Map<string, number>();
  const started = performance.now();
  for (const step of anchorSteps(exe, lab)) {
    const r = await timedCommand(step.argv);
    if (r.code !== 0)
      return { problem: `${step.label}${step.node ? ` on ${step.node}` : ""} ${exitProblem(r)}` };
    steps.set(step.label, (steps.get(step.label) ?? 0) + r.ms);
  }
  return { ms: performance.now() - started, steps };
}

export async function measureExplain(
  exe: string,
  lab: DiagnosisSubjects,
  options: ExplainOptions,
  fail: FailureSink,
  progress: Progress,
): Promise<ExplainSamples> {
  const samples: ExplainSamples = {
    ms: { pod: [], "cluster-ip": [], "node-ip": [], free: [] },
    anchorMs: [],
    anchorStepMs: {},
  };
  for (let round = -options.warmup; round < options.rounds; round++) {
    const measured = round >= 0;
    const tag = measured ? `explain round ${round + 1}` : "explain warm-up";
    for (const turn of roundOrder(TURNS, round + options.warmup)) {
      if (turn === "anchor") {
        const a = await runAnchor(exe, lab);
        if ("problem" in a) fail(`${tag}: anchor: ${a.problem}`);
        else if (measured) {
          samples.anchorMs.push(a.ms);
          for (const [label, ms] of a.steps)
            samples.anchorStepMs[label] = [...(samples.anchorStepMs[label] ?? []), ms];
        }
        continue;
      }
      const subject = lab.explain.find((s) => s.key === turn);
      if (!subject) continue;
      const r = await timedCommand(explainArgv(exe, lab, subject));
      const problem = r.code !== 0 ? exitProblem(r) : checkExplainAnswer(r.stdout, subject.kind).problem;
      if (problem !== undefined) fail(`${tag}: explain ${subject.address}: ${problem}`);
      else if (measured) samples.ms[turn].push(r.ms);
    }
    if (measured && ((round + 1) % 5 === 0 || round + 1 === options.rounds))
      progress(`explain: ${round + 1}/${options.rounds} rounds`);
  }
  return samples;
}

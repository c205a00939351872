/**
 * trace against the bare connection, in rounds: each round runs, for every destination, the
 * verified trace, the --no-probe trace and the probe alone from the source pod, the nine turns in
 * an order rotating from round to round. A verified trace whose verdict is not "agree" is a
 * failure, but its time is kept: it did all the work a trace does (the verdict is the answer).
 */
import { roundOrder } from "../proxy/connection-plan.ts";
import { checkProbeAnswer, checkTraceAnswer } from "./answer-checks.ts";
import { probeArgv, traceArgv } from "./diagnosis-commands.ts";
import type { FailureSink, Progress } from "./explain-bench.ts";
import type { DiagnosisSubjects, TraceKey, TraceSubject } from "./subjects.ts";
import { TRACE_KEYS } from "./subjects.ts";
import { exitProblem, timedCommand } from "./timed-command.ts";

export type TraceVariant = "verified" | "noProbe" | "probe";
export const TRACE_VARIANTS: readonly TraceVariant[] = ["verified", "noProbe", "probe"];

export interface DestinationSamples {
  readonly verified: number[];
  readonly noProbe: number[];
  readonly probe: number[];
  /** verdict.status of every measured verified trace that produced a report. */
  readonly verdicts: string[];
}

export type TraceSamples = Record<TraceKey, DestinationSamples>;

export interface TraceOptions {
  readonly rounds: number;
  readonly warmup: number;
}

interface Turn {
  readonly subject: TraceSubject;
  readonly variant: TraceVariant;
}

const emptySamples = (): DestinationSamples => ({ verified: [], noProbe: [], probe: [], verdicts: [] });

export async function measureTrace(
  exe: string,
  lab: DiagnosisSubjects,
  options: TraceOptions,
  fail: FailureSink,
  progress: Progress,
): Promise<TraceSamples> {
  const samples: TraceSamples = {
    direct: emptySamples(),
    vxlan: emptySamples(),
    "cluster-ip": emptySamples(),
  };
  const turns: Turn[] = TRACE_KEYS.flatMap((key) => {
    const subject = lab.trace.find((s) => s.key === key);
    return subject ? TRACE_VARIANTS.map((variant) => ({ subject, variant })) : [];
  });
  for (let round = -options.warmup; round < options.rounds; round++) {
    const measured = round >= 0;
    const tag = measured ? `trace round ${round + 1}` : "trace warm-up";
    for (const { subject, variant } of roundOrder(turns, round + options.warmup)) {
      const into = samples[subject.key];
      const what = `${variant === "probe" ? "probe" : variant === "noProbe" ? "trace --no-probe" : "trace"} ${subject.address}:${subject.port}`;
      const r = await timedCommand(
        variant === "probe"
          ? probeArgv(exe, lab, subject)
          : traceArgv(exe, lab, subject, variant === "verified"),
      );
      if (r.code !== 0) {
        fail(`${tag}: ${what} ${exitProblem(r)}`);
        continue;
      }
      if (variant === "probe") {
        const { problem } = checkProbeAnswer(r.stdout);
        if (problem !== undefined) fail(`${tag}: ${what}: ${problem}`);
        else if (measured) into.probe.push(r.ms);
        continue;
      }
      const check = checkTraceAnswer(r.stdout, variant === "verified");
      if (check.problem !== undefined) fail(`${tag}: ${what}: ${check.problem}`);
      if (!measured || !check.complete) continue;
      into[variant].push(r.ms);
      if (variant === "verified" && check.status !== undefined) into.verdicts.push(check.status);
    }
    if (measured && ((round + 1) % 5 === 0 || round + 1 === options.rounds))
      progress(`trace: ${round + 1}/${options.rounds} rounds`);
  }
  return samples;
}

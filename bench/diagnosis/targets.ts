/**
 * What podnet aims for in the diagnosis benchmark (issue 10: "explain answers in ≤ 1 s and a
 * verified trace in ≤ 3 s on the 3-node lab"), judged per address and per destination on the
 * unrounded p50 (pure). A part that was asked for but could not be measured keeps its targets,
 * without a value and not met.
 */
import { round3 } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import { judge } from "../support/targets.ts";
import type { ExplainKey, TraceKey } from "./subjects.ts";
import { EXPLAIN_KEYS, TRACE_KEYS } from "./subjects.ts";

export const TARGETS = {
  explainP50Ms: { max: 1000, text: "≤ 1000 ms" },
  verifiedTraceP50Ms: { max: 3000, text: "≤ 3000 ms" },
} as const;

/** Short names of the subjects, for target lines (the table's sections carry the addresses). */
export const EXPLAIN_NAMES: Readonly<Record<ExplainKey, string>> = {
  pod: "pod on another node",
  "cluster-ip": "ClusterIP",
  "node-ip": "node IP",
  free: "free address",
};

export const TRACE_NAMES: Readonly<Record<TraceKey, string>> = {
  direct: "pod → pod direct",
  vxlan: "pod → pod VXLAN",
  "cluster-ip": "pod → ClusterIP",
};

export interface TargetInputs {
  /** Unrounded explain p50 per address; undefined when the explain part was not asked for. */
  readonly explainP50Ms?: Readonly<Partial<Record<ExplainKey, number | null>>>;
  /** Unrounded verified-trace p50 per destination; undefined when the trace part was not asked for. */
  readonly verifiedTraceP50Ms?: Readonly<Partial<Record<TraceKey, number | null>>>;
}

export function judgeTargets(inputs: TargetInputs): TargetCheck[] {
  const round = (v: number | null) => (v === null ? null : round3(v));
  const explain = inputs.explainP50Ms;
  const trace = inputs.verifiedTraceP50Ms;
  return [
    ...(explain
      ? EXPLAIN_KEYS.map((k) => {
          const v = explain[k] ?? null;
          return judge(`explain p50, ${EXPLAIN_NAMES[k]}`, v, TARGETS.explainP50Ms, 0, round(v));
        })
      : []),
    ...(trace
      ? TRACE_KEYS.map((k) => {
          const v = trace[k] ?? null;
          return judge(`verified trace p50, ${TRACE_NAMES[k]}`, v, TARGETS.verifiedTraceP50Ms, 0, round(v));
        })
      : []),
  ];
}

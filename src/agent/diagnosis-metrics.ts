/**
 * The agent's diagnosis series: every request it handled, by kind (facts, trace) and result, each
 * counted once (diagnosis-responder.ts, diagnosis-sessions.ts).
 */
import type { DiagnosisKind } from "../cluster/diagnosis-protocol.ts";
import type { Metrics } from "../daemon/metrics.ts";

export const DIAGNOSIS_RESULTS = ["answered", "observed", "aborted", "invalid", "failed"] as const;
export type DiagnosisResult = (typeof DIAGNOSIS_RESULTS)[number];

export function diagnosisMetrics(metrics: Metrics) {
  const requests = metrics.counter(
    "podnet_diagnosis_requests_total",
    "Diagnosis requests this agent handled, by kind (facts, trace) and result.",
    ["kind", "result"],
  );
  for (const kind of ["facts", "trace"])
    for (const result of DIAGNOSIS_RESULTS) requests.inc({ kind, result }, 0);
  return { requests };
}

export type DiagnosisMetrics = ReturnType<typeof diagnosisMetrics>;

/** What an unparseable request claims to be, for the metric ("facts" when it says nothing usable). */
export function requestKind(value: string): DiagnosisKind {
  try {
    const v: unknown = JSON.parse(value);
    if (typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "trace") return "trace";
  } catch {
    // not JSON: counted as facts
  }
  return "facts";
}

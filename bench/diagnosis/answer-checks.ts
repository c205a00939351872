/**
 * What makes a timed answer count (pure): a fast explain that named the wrong thing, a trace whose
 * nodes did not answer, or a probe that was refused measured something else. Each check takes the
 * command's stdout and says what is wrong with it, or nothing.
 */
import type { AddressKind, Explanation } from "../../src/diagnosis/explanation.ts";
import { EXPLAIN_SCHEMA } from "../../src/diagnosis/explanation.ts";
import type { TraceReport } from "../../src/diagnosis/trace-types.ts";
import { TRACE_SCHEMA } from "../../src/diagnosis/trace-types.ts";

export interface AnswerCheck {
  /** What is wrong with the answer; absent when it counts. */
  readonly problem?: string;
}

export interface TraceCheck extends AnswerCheck {
  /** verdict.status of the report, when it could be read. */
  readonly status?: string;
  /**
   * A report with a verdict and every node's facts: the trace did all its work, so its time is a
   * sample whatever the verdict says (a wrong verdict is still a problem).
   */
  readonly complete: boolean;
}

function parseObject(stdout: string): Record<string, unknown> | string {
  try {
    const v: unknown = JSON.parse(stdout);
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : "the output is not a JSON object";
  } catch {
    return `the output is not JSON: ${stdout.trim().slice(0, 120) || "(empty)"}`;
  }
}

const nodesMissing = (missing: unknown): string | undefined => {
  if (!Array.isArray(missing) || missing.length === 0) return undefined;
  const named = (missing as { node?: unknown; reason?: unknown }[]).map((m) => `${m.node} (${m.reason})`);
  return `no facts from ${named.join(", ")}`;
};

/** explain --json: schema podnet.explain/v1, the expected kind among `kinds`, every node answered. */
export function checkExplainAnswer(stdout: string, kind: AddressKind): AnswerCheck {
  const o = parseObject(stdout);
  if (typeof o === "string") return { problem: o };
  const e = o as Partial<Explanation>;
  if (e.schema !== EXPLAIN_SCHEMA)
    return { problem: `schema "${String(e.schema)}", expected ${EXPLAIN_SCHEMA}` };
  if (!Array.isArray(e.kinds) || !e.kinds.includes(kind))
    return { problem: `kinds ${JSON.stringify(e.kinds)} do not include "${kind}"` };
  const missing = nodesMissing(e.missing);
  return missing === undefined ? {} : { problem: missing };
}

/**
 * trace --json: schema podnet.trace/v1, every node answered, and the verdict: "agree" for a
 * verified trace, "predicted-only" with a delivered prediction for --no-probe.
 */
export function checkTraceAnswer(stdout: string, verified: boolean): TraceCheck {
  const o = parseObject(stdout);
  if (typeof o === "string") return { problem: o, complete: false };
  const t = o as Partial<TraceReport>;
  if (t.schema !== TRACE_SCHEMA)
    return { problem: `schema "${String(t.schema)}", expected ${TRACE_SCHEMA}`, complete: false };
  const status = t.verdict?.status;
  if (typeof status !== "string") return { problem: "the report has no verdict.status", complete: false };
  const missing = nodesMissing(t.missing);
  if (missing !== undefined) return { status, problem: missing, complete: false };
  if (verified && status !== "agree")
    return { status, problem: `verdict ${status}: ${t.verdict?.summary ?? "(no summary)"}`, complete: true };
  if (!verified && (status !== "predicted-only" || t.verdict?.predicted !== "delivered"))
    return {
      status,
      problem: `--no-probe verdict ${status}, predicted ${String(t.verdict?.predicted)}: ${t.verdict?.summary ?? ""}`,
      complete: true,
    };
  return { status, complete: true };
}

/** probe: one JSON line whose outcome is "answered" (the connection was made and the echo replied). */
export function checkProbeAnswer(stdout: string): AnswerCheck {
  const o = parseObject(stdout.trim());
  if (typeof o === "string") return { problem: o };
  return o.outcome === "answered" ? {} : { problem: `probe outcome ${String(o.outcome)}` };
}

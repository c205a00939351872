import { describe, expect, test } from "bun:test";
import { checkExplainAnswer, checkProbeAnswer, checkTraceAnswer } from "./answer-checks.ts";

const explain = (fields: Record<string, unknown>) =>
  JSON.stringify({ schema: "podnet.explain/v1", kinds: ["pod"], missing: [], ...fields });

const trace = (verdict: Record<string, unknown>, fields: Record<string, unknown> = {}) =>
  JSON.stringify({ schema: "podnet.trace/v1", verdict, missing: [], ...fields });

describe("checkExplainAnswer", () => {
  test("counts an answer that names the expected kind, every node answering", () => {
    expect(checkExplainAnswer(explain({ kinds: ["node-ip", "node-port"] }), "node-ip")).toEqual({});
  });

  test("the wrong kind, a node without facts, another schema or no JSON are problems", () => {
    expect(checkExplainAnswer(explain({ kinds: ["free"] }), "pod").problem).toContain('"pod"');
    expect(
      checkExplainAnswer(explain({ missing: [{ node: "node3", reason: "no answer in 3000 ms" }] }), "pod")
        .problem,
    ).toBe("no facts from node3 (no answer in 3000 ms)");
    expect(checkExplainAnswer(explain({ schema: "podnet.explain/v0" }), "pod").problem).toContain("schema");
    expect(checkExplainAnswer("Error: no cluster", "pod").problem).toContain("not JSON");
    expect(checkExplainAnswer("[]", "pod").problem).toContain("not a JSON object");
  });
});

describe("checkTraceAnswer", () => {
  test("a verified trace counts when its verdict is agree", () => {
    expect(checkTraceAnswer(trace({ status: "agree", predicted: "delivered" }), true)).toEqual({
      status: "agree",
      complete: true,
    });
  });

  test("a verified trace that disagrees is a problem, but complete: its time is a sample", () => {
    const c = checkTraceAnswer(
      trace({ status: "disagree", predicted: "delivered", summary: "first disagreement at node1 fib" }),
      true,
    );
    expect(c).toMatchObject({ status: "disagree", complete: true });
    expect(c.problem).toBe("verdict disagree: first disagreement at node1 fib");
  });

  test("--no-probe must predict delivery without a probe", () => {
    expect(checkTraceAnswer(trace({ status: "predicted-only", predicted: "delivered" }), false).problem).toBe(
      undefined,
    );
    expect(
      checkTraceAnswer(trace({ status: "predicted-only", predicted: "dropped" }), false).problem,
    ).toContain("predicted dropped");
  });

  test("a node without facts, or no verdict at all, is neither counted nor timed", () => {
    expect(
      checkTraceAnswer(trace({ status: "agree" }, { missing: [{ node: "node2", reason: "timeout" }] }), true),
    ).toEqual({ status: "agree", problem: "no facts from node2 (timeout)", complete: false });
    expect(checkTraceAnswer(JSON.stringify({ schema: "podnet.trace/v1" }), true)).toMatchObject({
      complete: false,
    });
    expect(checkTraceAnswer("", true)).toMatchObject({
      complete: false,
      problem: "the output is not JSON: (empty)",
    });
  });
});

describe("checkProbeAnswer", () => {
  test("answered counts; anything else is a problem naming the outcome", () => {
    expect(checkProbeAnswer('{"outcome":"answered","ms":7}\n')).toEqual({});
    expect(checkProbeAnswer('{"outcome":"refused","ms":1}\n').problem).toBe("probe outcome refused");
  });
});

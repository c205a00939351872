import { describe, expect, test } from "bun:test";
import { compareTrace } from "../../diagnosis/compare.ts";
import { LAB_FACTS } from "../../diagnosis/fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "../../diagnosis/fixtures/lab-snapshot.ts";
import { SVC_PROBE, svcObservation } from "../../diagnosis/fixtures/trace-captures.ts";
import { labPlan } from "../../diagnosis/fixtures/trace-scenarios.ts";
import { observeTrace } from "../../diagnosis/observe.ts";
import { predictTrace } from "../../diagnosis/predict.ts";
import { buildTraceReport } from "../../diagnosis/trace-report.ts";
import { traceSummary } from "./trace-steps.ts";

function report(probe: boolean) {
  const plan = labPlan("node1-a", "default/echo:80", 40518);
  const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
  const observation = probe ? observeTrace(plan, svcObservation(), SVC_PROBE) : undefined;
  const verdict = compareTrace(prediction, observation);
  return buildTraceReport({
    plan,
    prediction,
    ...(observation === undefined ? {} : { observation }),
    verdict,
    drift: [],
    missing: [],
    probed: probe,
  });
}

describe("traceSummary", () => {
  test("pod → ClusterIP: numbered hops through the nodes crossed, DNAT written, the endpoint that answered", () => {
    const t = traceSummary(report(true));
    expect(t.status).toBe("agree");
    expect(t.steps.map((s) => s.n)).toEqual(t.steps.map((_, i) => i + 1));
    expect(t.steps[0]).toMatchObject({ direction: "forward", point: "from-pod", pod: "default/node1-a" });
    expect(t.steps.some((s) => s.direction === "reply")).toBe(true);
    expect(new Set(t.steps.flatMap((s) => (s.node === undefined ? [] : [s.node])))).toEqual(
      new Set(["node1", "node3"]),
    );
    const dnat = t.steps.find((s) => s.point === "service-dnat");
    expect(dnat?.rewrite).toBe("DNAT dst 10.102.49.235:80 → 10.244.8.3:8080");
    expect(t.steps.some((s) => s.status === "observed")).toBe(true);
    expect(t.steps.some((s) => s.first)).toBe(false);
    expect(t.endpoint).toEqual({ ip: "10.244.8.3", pod: "default/node3-b", observed: true });
    expect(t.lines.join("\n")).toContain("answered by 10.244.8.3 (default/node3-b)");
  });

  test("without a probe every hop is only predicted", () => {
    const t = traceSummary(report(false));
    expect(t.status).toBe("predicted-only");
    expect(t.steps.length).toBeGreaterThan(0);
    expect(t.steps.every((s) => s.status === "predicted")).toBe(true);
  });

  test("the first disagreement is the one hop marked first, with its reason", () => {
    const r = report(true);
    const at = r.prediction.paths[r.verdict.path]?.forward[2];
    if (at === undefined) throw new Error("the fixture's path has fewer than 3 forward hops");
    const t = traceSummary({
      ...r,
      verdict: {
        ...r.verdict,
        status: "disagree",
        firstDisagreement: {
          direction: "forward",
          index: 2,
          point: at.point,
          predicted: "routed",
          observed: "dropped",
          reason: "no-route",
          evidence: [],
        },
      },
    });
    const first = t.steps.filter((s) => s.first);
    expect(first.map((s) => [s.n, s.direction, s.firstReason])).toEqual([[3, "forward", "no-route"]]);
    expect(t.steps.filter((s) => s.firstReason !== undefined)).toHaveLength(1);
    expect(t.lines.join("\n")).toContain("— no-route");
  });
});

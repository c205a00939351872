import { describe, expect, test } from "bun:test";
import { compareTrace } from "./compare.ts";
import type { Drift } from "./drift.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { SVC_PROBE, svcObservation } from "./fixtures/trace-captures.ts";
import { labPlan } from "./fixtures/trace-scenarios.ts";
import { observeTrace } from "./observe.ts";
import { predictTrace } from "./predict.ts";
import { buildTraceReport, driftOnPath } from "./trace-report.ts";

function drift(node: string, kind: Drift["kind"], subject: string): Drift {
  return { node, kind, subject, problem: `${kind} ${subject}`, evidence: "e", command: "c" };
}

describe("buildTraceReport", () => {
  test("podnet.trace/v1 with source, destination, both directions, observation, verdict and the probe", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    const observation = observeTrace(plan, svcObservation(), SVC_PROBE);
    const verdict = compareTrace(prediction, observation);
    const report = buildTraceReport({
      plan,
      prediction,
      observation,
      verdict,
      drift: [],
      missing: [],
      probed: true,
    });
    expect(report.schema).toBe("podnet.trace/v1");
    expect(report.source).toEqual({
      kind: "pod",
      text: "default/node1-a",
      ip: "10.244.0.2",
      node: "node1",
      pod: "default/node1-a",
    });
    expect(report.destination).toMatchObject({
      kind: "service",
      ip: "10.102.49.235",
      port: 80,
      service: "default/echo",
    });
    expect(report).toMatchObject({ proto: "tcp", port: 80, sourcePort: 40518, probed: true });
    expect(report.probe?.echo?.pod).toBe("node3-b");
    expect(report.prediction.paths[5]?.reply.length).toBeGreaterThan(0);
    // Plain JSON: survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  test("without a probe: no observation, verdict predicted-only", () => {
    const plan = labPlan("node1-a", "node2-a:8080");
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    const verdict = compareTrace(prediction, undefined);
    const report = buildTraceReport({
      plan,
      prediction,
      verdict,
      drift: [],
      missing: [{ node: "node3", reason: "no answer in 2000 ms" }],
      probed: false,
    });
    expect(report.observation).toBeUndefined();
    expect(report.verdict.status).toBe("predicted-only");
    expect(report.missing).toEqual([{ node: "node3", reason: "no answer in 2000 ms" }]);
  });
});

describe("driftOnPath", () => {
  test("keeps drift on the path's nodes about its addresses, blocks or node-wide settings", () => {
    const plan = labPlan("node1-a", "node2-a:8080");
    const kept = driftOnPath(plan, [
      drift("node1", "missing-route", "10.244.3.0/24"),
      drift("node2", "ip-forward-off", "net.ipv4.ip_forward"),
      drift("node1", "missing-route", "10.244.8.0/24"),
      drift("node3", "ip-forward-off", "net.ipv4.ip_forward"),
      drift("node1", "stale-endpoint", "10.244.3.2:8080/tcp"),
    ]);
    expect(kept.map((d) => `${d.node} ${d.kind} ${d.subject}`)).toEqual([
      "node1 missing-route 10.244.3.0/24",
      "node2 ip-forward-off net.ipv4.ip_forward",
      "node1 stale-endpoint 10.244.3.2:8080/tcp",
    ]);
  });
});

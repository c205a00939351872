import { describe, expect, test } from "bun:test";
import { compareTrace } from "./compare.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import {
  FDB_DELETED_CONNTRACK,
  FDB_DELETED_NODE1,
  nodeObservation,
  SVC_PROBE,
  svcObservation,
} from "./fixtures/trace-captures.ts";
import { labPlan, withoutFdb } from "./fixtures/trace-scenarios.ts";
import { observeTrace } from "./observe.ts";
import { predictTrace } from "./predict.ts";
import { hasUnprintable } from "./printable.ts";
import { renderTraceReport } from "./render-trace.ts";
import { buildTraceReport } from "./trace-report.ts";

describe("renderTraceReport", () => {
  test("a verified ClusterIP trace: headline, hops in both directions, endpoint, source seen, commands", () => {
    const plan = labPlan("node1-a", "default/echo:80", 40518);
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    const observation = observeTrace(plan, svcObservation(), SVC_PROBE);
    const verdict = compareTrace(prediction, observation);
    const text = renderTraceReport(
      buildTraceReport({ plan, prediction, observation, verdict, drift: [], missing: [], probed: true }),
    );
    const lines = text.split("\n");
    expect(lines[0]).toContain("trace default/node1-a → default/echo 10.102.49.235:80/tcp");
    expect(lines[0]).toContain("predicted ✓ delivered");
    expect(lines[0]).toContain("observed ✓ answered");
    expect(lines[1]).toStartWith("verdict: agree");
    expect(text).toContain("forward — endpoint default/node3-b (10.244.8.3:8080), path 6 of 6");
    expect(text).toMatch(/✓ node1 nft podnet +service-dnat +10\.244\.0\.2:40518 → 10\.244\.8\.3:8080/);
    expect(text).toContain("VNI 4096");
    expect(text).toMatch(/\nreply\n/);
    expect(text).toContain("un-DNAT");
    expect(text).toContain("endpoint chosen: default/node3-b (10.244.8.3, from echo)");
    expect(text).toContain("source the destination saw: 10.244.0.2:40518 (from echo)");
    expect(text).toContain("on node1: nft list map ip podnet service-ips");
    expect(text).toContain("in pod default/node1-a on node1: ip route get 10.102.49.235");
  });

  test("a fault: the first disagreement with its reason and evidence, and the drift on the path", () => {
    const plan = labPlan("node1-a", "node3-b:8080", 47088);
    const facts = withoutFdb("node1", "198.51.100.13");
    const prediction = predictTrace(LAB_SNAPSHOT, facts, plan);
    const observation = observeTrace(
      plan,
      [
        nodeObservation("node1", FDB_DELETED_NODE1, {
          conntrack: FDB_DELETED_CONNTRACK,
          counters: [{ chain: "observe-post", name: "vxlan-out 198.51.100.13", packets: 0, bytes: 0 }],
        }),
        nodeObservation("node3", []),
      ],
      { outcome: "timeout", ms: 2000, localIp: "10.244.0.2", localPort: 47088 },
    );
    const verdict = compareTrace(prediction, observation);
    const text = renderTraceReport(
      buildTraceReport({
        plan,
        prediction,
        observation,
        verdict,
        drift: [
          {
            node: "node1",
            kind: "missing-fdb",
            subject: "10.244.8.0/24",
            problem: "has no FDB entry for node3's VTEP MAC 62:f1:93:8f:e2:6a",
            evidence: "bridge fdb show dev podnet-vx",
            command: "bridge fdb show dev podnet-vx",
          },
        ],
        missing: [],
        probed: true,
      }),
    );
    expect(text).toContain("predicted ✗ dropped");
    expect(text).toContain("observed ✗ timeout");
    expect(text).toContain("first disagreement: node1 drop");
    expect(text).toContain("missing-fdb");
    expect(text).toContain("evidence:  bridge fdb show dev podnet-vx → no entry for 62:f1:93:8f:e2:6a");
    expect(text).not.toContain("source the destination saw");
    expect(text).toContain("drift on this path (1):");
    expect(text).toContain(
      "node1: has no FDB entry for node3's VTEP MAC 62:f1:93:8f:e2:6a  (bridge fdb show dev podnet-vx)",
    );
  });
});

describe("renderTraceReport, unknowns and untrusted text", () => {
  test("a silent node: predicted ? unknown, not ✗ dropped", () => {
    const plan = labPlan("node1-a", "node2-a:8080", 40518);
    const prediction = predictTrace(
      LAB_SNAPSHOT,
      LAB_FACTS.filter((f) => f.node !== "node2"),
      plan,
    );
    const verdict = compareTrace(prediction, undefined);
    const text = renderTraceReport(
      buildTraceReport({ plan, prediction, verdict, drift: [], missing: [], probed: false }),
    );
    expect(text.split("\n")[0]).toContain("predicted ? unknown");
    expect(text).not.toContain("DROP agent-missing");
  });

  test("control characters in an agent's reason are escaped", () => {
    const plan = labPlan("node1-a", "node2-a:8080", 40518);
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    const verdict = compareTrace(prediction, undefined);
    const text = renderTraceReport(
      buildTraceReport({
        plan,
        prediction,
        verdict,
        drift: [],
        missing: [{ node: "node3", reason: "could not arm: \u001b[2J\u001b]0;x\u0007" }],
        probed: false,
      }),
    );
    expect(hasUnprintable(text)).toBe(false);
    expect(text).toContain("\\x1b[2J");
  });
});

describe("renderTraceReport, an address of a block without a pod record", () => {
  test("the headline names the block's node", () => {
    const plan = labPlan("node1-a", "10.244.3.9:8080", 40518);
    const prediction = predictTrace(LAB_SNAPSHOT, LAB_FACTS, plan);
    const verdict = compareTrace(prediction, undefined);
    const text = renderTraceReport(
      buildTraceReport({ plan, prediction, verdict, drift: [], missing: [], probed: false }),
    );
    expect(text.split("\n")[0]).toContain("→ 10.244.3.9:8080/tcp (in node2's block, no pod record)");
  });
});

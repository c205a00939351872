import { describe, expect, test } from "bun:test";
import { labFixture } from "./lab-fixture.ts";
import type { RawResults } from "./report.ts";
import { buildReport, latencySummary } from "./report.ts";
import { diagnosisSubjects } from "./subjects.ts";
import { renderTable } from "./table.ts";

const subjects = diagnosisSubjects(labFixture(), "10.96.0.10");
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

function raw(overrides: Partial<RawResults> = {}): RawResults {
  const destination = (verified: number, verdicts: string[]) => ({
    verified: range(verified, 10),
    noProbe: range(500, 10),
    probe: range(50, 10),
    verdicts,
  });
  return {
    startedAt: "2026-01-01T00:00:00.000Z",
    durationSeconds: 98.76543,
    machine: { cpus: 2, kernel: "6.1.0", bun: "1.4.5", memoryGiB: 8, loadAverage: { start: 0.5, end: 1.5 } },
    podnet: {
      binary: "/x/podnet",
      version: "0.1.0",
      modified: "2026-01-01T00:00:00.000Z",
      replacedDuringRun: false,
    },
    options: { parts: ["explain", "trace"], explainRounds: 20, traceRounds: 10, warmup: 1 },
    lab: {
      id: "abc123",
      backend: "auto",
      nodes: 3,
      pods: 6,
      datastore: "sqlite:/tmp/lab/abc123/cluster.db",
      upSeconds: 2.5,
      askingNetns: "pnlab-abc123-node1",
      source: "default/node1-a",
    },
    subjects: { explain: subjects.explain, trace: subjects.trace },
    anchorCommands: 20,
    explain: {
      ms: {
        pod: range(400, 20),
        "cluster-ip": range(450, 20),
        "node-ip": range(500, 20),
        free: range(1001, 20),
      },
      anchorMs: range(500, 20),
      anchorStepMs: { "ip -d addr": range(30, 20), "conntrack -L": range(20, 20) },
    },
    trace: {
      direct: destination(1000, Array(10).fill("agree")),
      vxlan: destination(1300, Array(10).fill("agree")),
      "cluster-ip": destination(2995, [...Array(9).fill("agree"), "disagree"]),
    },
    failures: ["trace round 4: trace 10.96.0.10:80: verdict disagree: first disagreement at node1 fib"],
    ...overrides,
  };
}

describe("latencySummary", () => {
  test("p50 and p95 are measured values (nearest rank)", () => {
    expect(latencySummary(range(1, 20))).toMatchObject({ n: 20, p50: 10, p95: 19, max: 20 });
    expect(latencySummary(range(1, 10))).toMatchObject({ p50: 5, p95: 10 });
    expect(latencySummary([])).toBeNull();
  });
});

describe("buildReport", () => {
  const report = buildReport(raw());

  test("explain per address next to the anchor, as ratios explain / anchor", () => {
    const pod = report.explain?.addresses.find((a) => a.key === "pod");
    expect(pod).toMatchObject({ address: "10.244.10.2", kind: "pod", ms: { n: 20, p50: 409, p95: 418 } });
    expect(pod?.ratio).toEqual({ p50: round(409 / 509), p95: round(418 / 518) });
    expect(report.explain?.anchor).toMatchObject({ commands: 20, ms: { p50: 509, p95: 518 } });
    expect(report.explain?.anchor.steps).toEqual([
      { label: "ip -d addr", p50Ms: 39 },
      { label: "conntrack -L", p50Ms: 29 },
    ]);
  });

  test("trace per destination: verified and --no-probe over the bare probe, verdicts, the verifying cost", () => {
    const direct = report.trace?.destinations.find((d) => d.key === "direct");
    expect(direct?.verifiedMs).toMatchObject({ n: 10, p50: 1004, p95: 1009 });
    expect(direct?.ratio.verified).toEqual({ p50: round(1004 / 54), p95: round(1009 / 59) });
    expect(direct?.ratio.noProbe.p50).toBe(round(504 / 54));
    expect(direct?.verificationP50Ms).toBe(500);
    expect(report.trace?.destinations.find((d) => d.key === "cluster-ip")?.verdicts).toEqual({
      agree: 9,
      disagree: 1,
    });
  });

  test("targets: explain ≤ 1 s and verified trace ≤ 3 s per subject, judged on the p50", () => {
    expect(report.targets.map((t) => [t.name, t.value, t.met])).toEqual([
      ["explain p50, pod on another node", 409, true],
      ["explain p50, ClusterIP", 459, true],
      ["explain p50, node IP", 509, true],
      ["explain p50, free address", 1010, false],
      ["verified trace p50, pod → pod direct", 1004, true],
      ["verified trace p50, pod → pod VXLAN", 1304, true],
      ["verified trace p50, pod → ClusterIP", 2999, true],
    ]);
    expect(report.failures.count).toBe(1);
  });

  test("a part asked for but not measured (the lab did not come up) keeps its targets, not met", () => {
    const failed = buildReport(
      raw({
        lab: undefined,
        subjects: undefined,
        explain: undefined,
        trace: undefined,
        failures: ["diagnosis benchmark: lab up exited with 1"],
      }),
    );
    expect(failed.explain).toBeNull();
    expect(failed.targets).toHaveLength(7);
    expect(failed.targets.every((t) => t.value === null && !t.met)).toBe(true);
  });

  test("a part not asked for has no targets", () => {
    const only = buildReport(
      raw({ options: { parts: ["trace"], explainRounds: 20, traceRounds: 10, warmup: 1 } }),
    );
    expect(only.targets.map((t) => t.name).every((n) => n.startsWith("verified trace"))).toBe(true);
  });
});

describe("renderTable", () => {
  const text = renderTable(buildReport(raw()));

  test("one row per address and the anchor, with the ratios", () => {
    expect(text).toContain("explain, ms: 20 rounds (after 1 warm-up)");
    expect(text).toMatch(/pod node2-a on node2 \(10\.244\.10\.2\)\s+20\s+409\s+418\s+419\s+0\.80\s+0\.81/);
    expect(text).toMatch(/anchor \(the same facts by hand\)\s+20\s+509\s+518\s+519/);
  });

  test("per destination: verified, --no-probe and the probe, verdicts counted", () => {
    expect(text).toMatch(
      /trace \(verified\)\s+10\s+2999\s+3004\s+3004\s+55\.54\s+50\.9\d\s+agree 9, disagree 1/,
    );
    expect(text).toContain(
      "verifying (verified p50 − --no-probe p50), ms: direct 500, vxlan 800, cluster-ip 2495",
    );
  });

  test("targets and failures close the table", () => {
    expect(text).toMatch(/explain p50, free address\s+1010\s+≤ 1000 ms\s+NOT MET/);
    expect(text).toContain("Failures: 1");
    expect(text).toContain("  trace round 4: trace 10.96.0.10:80: verdict disagree");
  });

  test("a lab that did not come up says so", () => {
    expect(renderTable(buildReport(raw({ lab: undefined })))).toContain("lab: NOT UP, see failures");
  });
});

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

import { describe, expect, test } from "bun:test";
import type { RawResults } from "./report.ts";
import { buildReport } from "./report.ts";
import { renderTable } from "./table.ts";

const calibration = { gnuTimeTrueKiB: 1000, bunTrueKiB: 50_000, parentRssKiB: 49_000 };

interface Figures {
  readonly addMs: number;
  readonly podsPerSecond: number;
  readonly rssMiB: number;
}

function raw(podnet: Figures, agent: Figures, failures: string[] = []): RawResults {
  const phase = (rate: number) => ({ pods: 200, succeeded: 200, seconds: 200 / rate, opMs: [10, 20, 30] });
  const info = (description: string) => ({
    description,
    binary: "/x/podnet",
    binaryModified: "2026-01-01T00:00:00.000Z",
    conflist: {},
  });
  return {
    startedAt: "2026-01-01T00:00:00.000Z",
    durationSeconds: 12.3456,
    machine: { cpus: 2, kernel: "6.1.0", bun: "1.4.5" },
    subjects: { podnet: info("podnet test"), agent: info("agent test"), reference: info("reference test") },
    cniVersion: "1.0.0",
    options: {
      pods: 3,
      batch: 3,
      warmup: 1,
      throughputPods: 200,
      concurrency: 8,
      throughputRounds: 1,
      memorySamples: 2,
    },
    baselines: {
      launcherMs: [2, 2, 2],
      versionMs: { podnet: [6, 6], agent: [5, 5], reference: [4, 4] },
      floorVersionMs: [4.5, 4.5],
    },
    latency: {
      podnet: { add: Array(3).fill(podnet.addMs), del: [30, 30, 30] },
      agent: { add: Array(3).fill(agent.addMs), del: [25, 25, 25] },
      reference: { add: [10, 10, 10], del: [20, 20, 20] },
    },
    throughput: {
      podnet: [{ add: phase(podnet.podsPerSecond), del: phase(50) }],
      agent: [{ add: phase(agent.podsPerSecond), del: phase(60) }],
      reference: [{ add: phase(100), del: phase(100) }],
    },
    memory: {
      method: "gnu-time",
      calibration,
      kib: {
        podnet: [podnet.rssMiB * 1024, podnet.rssMiB * 1024],
        agent: [agent.rssMiB * 1024, agent.rssMiB * 1024],
        reference: [4 * 1024, 4 * 1024],
      },
      floorKiB: [20 * 1024, 20 * 1024],
    },
    agentMemoryKiB: { rss: 60 * 1024, peak: 70 * 1024 },
    failures,
  };
}

const slow: Figures = { addMs: 30, podsPerSecond: 50, rssMiB: 40 };
const fast: Figures = { addMs: 10, podsPerSecond: 120, rssMiB: 30 };

describe("buildReport", () => {
  test("ratios are each podnet subject over the reference, for every figure", () => {
    const r = buildReport(raw(slow, fast));
    expect(r.latencyMs.add.ratio.podnet).toEqual({ min: 3, p50: 3, p99: 3 });
    expect(r.latencyMs.add.ratio.agent.p50).toBe(1);
    expect(r.latencyMs.del.ratio.podnet.p50).toBe(1.5);
    expect(r.latencyMs.del.ratio.agent.p50).toBe(1.25);
    expect(r.latencyMs.version.ratio.podnet.p50).toBe(1.5);
    // (30 - 2) / (10 - 2)
    expect(r.latencyMs.add.p50RatioExcludingLauncher.podnet).toBe(3.5);
    expect(r.throughputPodsPerSecond.add.podsPerSecond).toEqual({ podnet: 50, agent: 120, reference: 100 });
    expect(r.throughputPodsPerSecond.add.ratio).toEqual({ podnet: 0.5, agent: 1.2 });
    expect(r.throughputPodsPerSecond.rounds.podnet[0]?.add.opP50Ms).toBe(20);
    if (r.memory.method !== "gnu-time") throw new Error("expected GNU time figures");
    expect(r.memory.peakRssMiB.podnet.p50).toBe(40);
    expect(r.memory.peakRssMiB.floor.p50).toBe(20);
    expect(r.memory.p50Ratio).toEqual({ podnet: 10, agent: 7.5 });
    expect(r.agentMemoryMiB).toEqual({ rss: 60, peak: 70 });
  });

  test("the start-up floor is taken off each subject's VERSION", () => {
    const r = buildReport(raw(slow, fast));
    expect(r.startupFloor.versionMs.p50).toBe(4.5);
    expect(r.startupFloor.aboveFloorP50Ms).toEqual({ podnet: 1.5, agent: 0.5, reference: -0.5 });
  });

  test("targets are judged at their bounds for both podnet subjects", () => {
    const judged = (r: RawResults) => buildReport(r).targets.map((t) => [t.name, t.met]);
    expect(judged(raw(slow, fast))).toEqual([
      ["podnet: ADD p50 latency ratio", false],
      ["podnet: ADD throughput ratio (concurrency 8)", false],
      ["podnet: peak RSS of one ADD, p50", false],
      ["podnet+agent: ADD p50 latency ratio", true],
      ["podnet+agent: ADD throughput ratio (concurrency 8)", true],
      ["podnet+agent: peak RSS of one ADD, p50", true],
    ]);
    const over: Figures = { addMs: 10.1, podsPerSecond: 119, rssMiB: 30.1 };
    expect(
      buildReport(raw(slow, over))
        .targets.slice(3)
        .map((t) => t.met),
    ).toEqual([false, false, false]);
  });

  test("the table shows the figures, the floor, the targets and the failures", () => {
    const text = renderTable(buildReport(raw(slow, fast, ["podnet ADD c1: boom"])));
    expect(text).toMatch(/ADD p50\s+30\.00\s+10\.00\s+10\.00\s+3\.00\s+1\.00/);
    expect(text).toMatch(/ADD\s+50\.0\s+120\.0\s+100\.0\s+0\.50\s+1\.20/);
    expect(text).toContain("a trivial compiled Bun program answers VERSION in p50 4.50 ms");
    expect(text).toContain("memory floor (the trivial compiled Bun program, VERSION): p50 20.00 MiB");
    expect(text).toMatch(/podnet: ADD p50 latency ratio\s+3\.00\s+≤ 1\.0\s+NOT MET/);
    expect(text).toMatch(/podnet\+agent: ADD throughput ratio \(concurrency 8\)\s+1\.20\s+≥ 1\.2\s+met/);
    expect(text).toContain("Failures: 1");
    expect(text).toContain("podnet ADD c1: boom");
  });

  test("a run without GNU time says why memory was not measured", () => {
    const input: RawResults = {
      ...raw(slow, fast),
      memory: { method: "none", reason: "no GNU time here", calibration },
    };
    const text = renderTable(buildReport(input));
    expect(text).toContain("Peak RSS of one ADD: not measured (no GNU time here)");
  });
});

import { describe, expect, test } from "bun:test";
import type { RawResults } from "./report.ts";
import { buildReport } from "./report.ts";
import { renderTable } from "./table.ts";

const calibration = { gnuTimeTrueKiB: 1000, bunTrueKiB: 50_000, parentRssKiB: 49_000 };

function raw(podnetAddMs: number, podnetPodsPerSecond: number, failures: string[] = []): RawResults {
  const phase = (rate: number) => ({ pods: 200, succeeded: 200, seconds: 200 / rate, opMs: [10, 20, 30] });
  return {
    startedAt: "2026-01-01T00:00:00.000Z",
    durationSeconds: 12.3456,
    machine: { cpus: 2, kernel: "6.1.0", bun: "1.4.5" },
    subjects: {
      podnet: {
        description: "podnet test",
        binary: "/x/podnet",
        binaryModified: "2026-01-01T00:00:00.000Z",
        conflist: {},
      },
      reference: {
        description: "reference test",
        binary: "/usr/lib/cni/bridge",
        binaryModified: "2023-04-09T00:00:00.000Z",
        conflist: {},
      },
    },
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
    baselines: { launcherMs: [2, 2, 2], versionMs: { podnet: [6, 6], reference: [4, 4] } },
    latency: {
      podnet: { add: [podnetAddMs, podnetAddMs, podnetAddMs], del: [30, 30, 30] },
      reference: { add: [10, 10, 10], del: [20, 20, 20] },
    },
    throughput: {
      podnet: [{ add: phase(podnetPodsPerSecond), del: phase(50) }],
      reference: [{ add: phase(100), del: phase(100) }],
    },
    memory: {
      method: "gnu-time",
      calibration,
      kib: { podnet: [40 * 1024, 42 * 1024], reference: [4 * 1024, 4 * 1024] },
    },
    failures,
  };
}

describe("buildReport", () => {
  test("ratios are podnet over reference for every figure", () => {
    const r = buildReport(raw(30, 50));
    expect(r.latencyMs.add.ratio).toEqual({ min: 3, p50: 3, p99: 3 });
    expect(r.latencyMs.del.ratio.p50).toBe(1.5);
    expect(r.latencyMs.version.ratio.p50).toBe(1.5);
    // (30 - 2) / (10 - 2)
    expect(r.latencyMs.add.p50RatioExcludingLauncher).toBe(3.5);
    expect(r.throughputPodsPerSecond.add).toEqual({ podnet: 50, reference: 100, ratio: 0.5 });
    expect(r.throughputPodsPerSecond.rounds.podnet[0]?.add.opP50Ms).toBe(20);
    if (r.memory.method !== "gnu-time") throw new Error("expected GNU time figures");
    expect(r.memory.peakRssMiB.podnet.p50).toBe(40);
    expect(r.memory.peakRssMiB.p50Ratio).toBe(10);
  });

  test("targets are judged at their bounds: ADD p50 ratio ≤ 0.8, throughput ratio ≥ 1.5", () => {
    const missed = buildReport(raw(30, 50)).targets;
    expect(missed.map((t) => t.met)).toEqual([false, false]);
    const met = buildReport(raw(8, 150)).targets;
    expect(met.map((t) => [t.value, t.met])).toEqual([
      [0.8, true],
      [1.5, true],
    ]);
    expect(buildReport(raw(8.1, 149)).targets.map((t) => t.met)).toEqual([false, false]);
  });

  test("the table shows the figures, the targets and the failures", () => {
    const text = renderTable(buildReport(raw(30, 50, ["podnet ADD c1: boom"])));
    expect(text).toMatch(/ADD p50\s+30\.00\s+10\.00\s+3\.00/);
    expect(text).toMatch(/ADD\s+50\.0\s+100\.0\s+0\.50/);
    expect(text).toMatch(/ADD p50 latency ratio\s+3\.00\s+≤ 0\.8\s+NOT MET/);
    expect(text).toMatch(/ADD throughput ratio \(concurrency 8\)\s+0\.50\s+≥ 1\.5\s+NOT MET/);
    expect(text).toContain("Failures: 1");
    expect(text).toContain("podnet ADD c1: boom");
  });

  test("a run without GNU time says why memory was not measured", () => {
    const input: RawResults = {
      ...raw(30, 50),
      memory: { method: "none", reason: "no GNU time here", calibration },
    };
    const text = renderTable(buildReport(input));
    expect(text).toContain("Peak RSS of one ADD: not measured (no GNU time here)");
  });
});

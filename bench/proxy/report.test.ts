import { describe, expect, test } from "bun:test";
import type { LatencyCase, Subject } from "./latency-bench.ts";
import type { MemoryResult } from "./memory-bench.ts";
import type { BenchOptions, RawResults } from "./report.ts";
import { buildReport, judgeTargets, latencyRatio } from "./report.ts";
import type { SyncRun } from "./sync-bench.ts";
import { renderTable } from "./table.ts";

const OPTIONS: BenchOptions = {
  parts: ["sync", "latency", "memory"],
  sizes: [1000, 10_000],
  endpointsPerService: 10,
  repetitions: 3,
  changes: 4,
  latencySizes: [100, 10_000],
  connections: 4,
  rounds: 2,
  warmup: 1,
  memoryServices: 10_000,
  seed: 1,
};

function syncRun(services: number, totalMs: number[], incrementalMs: number[]): SyncRun {
  return {
    full: {
      services,
      endpointsPerService: 10,
      renderMs: totalMs.map((t) => t / 4),
      applyMs: totalMs.map((t) => (3 * t) / 4),
      totalMs,
      textBytes: 2 ** 20,
      textLines: 1234,
      problems: 0,
    },
    incremental: {
      services,
      renderMs: incrementalMs.map(() => 1),
      applyMs: incrementalMs.map((t) => t - 1),
      totalMs: incrementalMs,
      transactionLines: incrementalMs.map(() => 12),
    },
  };
}

function latencyCase(subject: Subject, services: number, connectMs: number[]): LatencyCase {
  return {
    subject,
    services,
    rulesetBytes: 1000,
    loadMs: 10,
    connectMs: { last: connectMs.slice(0, 2), random: connectMs.slice(2) },
    firstByteMs: {
      last: connectMs.slice(0, 2).map((v) => v * 2),
      random: connectMs.slice(2).map((v) => v * 2),
    },
    errors: 0,
    wrongEndpoint: 0,
    firstErrors: [],
  };
}

const MEMORY: MemoryResult = {
  services: 10_000,
  endpointsPerService: 10,
  startRssMiB: 30,
  rssMiB: 150.4444,
  vmRssMiB: 151,
  vmHwmMiB: 210,
  heapUsedMiB: 90,
  textMiB: 8,
  workMs: 400,
  problems: 0,
};

function raw(overrides: Partial<RawResults> = {}): RawResults {
  return {
    startedAt: "2026-01-01T00:00:00.000Z",
    durationSeconds: 100,
    machine: {
      cpus: 2,
      kernel: "6.1",
      bun: "1.4.5",
      nft: "nftables v1.0.6",
      memoryGiB: 8,
      loadAverage: { start: 0.1, end: 0.2 },
    },
    options: OPTIONS,
    nftStartMs: 3,
    sync: [
      syncRun(1000, [300, 200, 250], [10, 12, 11, 9]),
      syncRun(10_000, [1900, 2500, 1800], [40, 50, 60, 45]),
    ],
    latency: [
      latencyCase("podnet", 100, [0.1, 0.1, 0.1, 0.1]),
      latencyCase("podnet", 10_000, [0.11, 0.11, 0.11, 0.11]),
      latencyCase("iptables", 100, [0.1, 0.1, 0.1, 0.1]),
      latencyCase("iptables", 10_000, [0.5, 0.5, 0.3, 0.3]),
    ],
    memory: MEMORY,
    failures: [],
    ...overrides,
  };
}

describe("latencyRatio", () => {
  test("large table over small table of the same subject", () => {
    const r = latencyRatio(raw().latency, "iptables", [100, 10_000]);
    expect(r?.small).toBe(100);
    expect(r?.large).toBe(10_000);
    // p50 of [0.3, 0.3, 0.5, 0.5] is 0.3 (nearest rank), p99 0.5.
    expect(r?.connectP50).toBeCloseTo(3, 9);
    expect(r?.connectP99).toBeCloseTo(5, 9);
    expect(r?.firstByteP50).toBeCloseTo(3, 9);
    expect(latencyRatio(raw().latency, "podnet", [100, 10_000])?.connectP50).toBeCloseTo(1.1, 9);
  });

  test("null when a size was not measured or had no successful connection", () => {
    expect(latencyRatio(raw().latency, "podnet", [100, 5000])).toBeNull();
    const empty = raw({ latency: [latencyCase("podnet", 100, [0.1]), latencyCase("podnet", 10_000, [])] });
    expect(latencyRatio(empty.latency, "podnet", [100, 10_000])).toBeNull();
  });
});

describe("judgeTargets", () => {
  test("judges the largest size's medians and the podnet ratio", () => {
    const targets = judgeTargets(raw());
    expect(targets.map((t) => [t.name, t.value, t.met])).toEqual([
      ["full sync, 10000 Services, median ms", 1900, true],
      ["incremental sync, 10000 Services, median ms", 45, true],
      ["proxy RSS, 10000 Services, MiB", 150.4444, true],
      ["podnet connect p50, 10000 / 100 Services", expect.closeTo(1.1, 9), true],
    ]);
  });

  test("a value over its limit, or a part that produced nothing, is not met", () => {
    const slow = raw({
      sync: [syncRun(10_000, [2100, 2200, 1900], [150, 120, 101, 130])],
      memory: { ...MEMORY, rssMiB: 191 },
      latency: [latencyCase("podnet", 100, [0.1]), latencyCase("podnet", 10_000, [0.13])],
    });
    expect(judgeTargets(slow).map((t) => t.met)).toEqual([false, false, false, false]);
    const nothing = raw({ sync: [], latency: [], memory: null });
    expect(judgeTargets(nothing).map((t) => [t.value, t.met])).toEqual([
      [null, false],
      [null, false],
      [null, false],
      [null, false],
    ]);
  });

  test("only the parts that were asked for are judged", () => {
    const targets = judgeTargets(raw({ options: { ...OPTIONS, parts: ["memory"] } }));
    expect(targets.map((t) => t.name)).toEqual(["proxy RSS, 10000 Services, MiB"]);
  });
});

describe("buildReport and renderTable", () => {
  test("summaries, rounded figures and the printed targets", () => {
    const report = buildReport(raw({ failures: ["one thing broke"] }));
    expect(report.fullSync.map((f) => [f.services, f.totalMs.p50, f.totalMs.n])).toEqual([
      [1000, 250, 3],
      [10_000, 1900, 3],
    ]);
    expect(report.incremental.map((i) => i.totalMs.p50)).toEqual([10, 45]);
    expect(report.latency.ratios.iptables?.connectP50).toBe(3);
    expect(report.memory?.rssMiB).toBe(150.444);
    expect(report.failures).toEqual({ count: 1, first: ["one thing broke"] });
    const text = renderTable(report);
    expect(text).toContain("10,000 × 10");
    expect(text).toMatch(/podnet, 10,000\s+0\.110/);
    expect(text).toContain("connect p50 ratio, large / small table: podnet 1.10");
    expect(text).toContain("iptables structure 3.00");
    expect(text).toMatch(/full sync, 10000 Services, median ms\s+1900\s+≤ 2000 ms\s+met/);
    expect(text).toContain("Failures: 1\n  one thing broke");
  });
});

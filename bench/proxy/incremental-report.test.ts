import { describe, expect, test } from "bun:test";
import type { StateSyncRun } from "./incremental-report.ts";
import { flatnessRatio, lineCount, roundFlatness, stateSyncReport } from "./incremental-report.ts";

function run(services: number, totalMs: number[], over: Partial<StateSyncRun> = {}): StateSyncRun {
  return {
    services,
    path: "nft -f",
    changes: 1,
    renderMs: totalMs.map((t) => t / 10),
    applyMs: totalMs.map((t) => (9 * t) / 10),
    totalMs,
    transactionLines: totalMs.map(() => 2),
    fallbacks: 0,
    ...over,
  };
}

describe("lineCount", () => {
  test("counts commands ending in a newline; an empty transaction has none", () => {
    expect(lineCount("")).toBe(0);
    expect(lineCount("add element ip podnet cluster-ips { 10.96.0.1 }\n")).toBe(1);
    expect(lineCount("a\nb\nc\n")).toBe(3);
  });
});

describe("flatnessRatio", () => {
  test("single-change total p50 at the large size over the small one, per path", () => {
    const runs = [
      run(1000, [10, 12, 11, 9]),
      run(10_000, [13, 14, 15, 16]),
      run(1000, [2, 2, 2], { path: "nft -i" }),
      run(10_000, [5, 5, 5], { path: "nft -i" }),
      // Bursts are not single changes: never part of the ratio.
      run(10_000, [500, 500], { changes: 100 }),
    ];
    // Nearest rank: p50 of [9, 10, 11, 12] is 10, of [13, 14, 15, 16] 14.
    expect(flatnessRatio(runs, "nft -f", 1000, 10_000)).toEqual({
      path: "nft -f",
      small: 1000,
      large: 10_000,
      smallP50: 10,
      largeP50: 14,
      ratio: 1.4,
    });
    expect(flatnessRatio(runs, "nft -i", 1000, 10_000)?.ratio).toBe(2.5);
  });

  test("null when a size has no samples or only bursts, or both sizes are one", () => {
    const runs = [run(1000, [10]), run(5000, [12]), run(10_000, [], {}), run(20_000, [9], { changes: 100 })];
    expect(flatnessRatio(runs, "nft -f", 1000, 10_000)).toBeNull();
    expect(flatnessRatio(runs, "nft -f", 1000, 20_000)).toBeNull();
    expect(flatnessRatio(runs, "nft -f", 1000, 1000)).toBeNull();
    expect(flatnessRatio(runs, "nft -i", 1000, 5000)).toBeNull();
    expect(flatnessRatio(runs, "nft -f", 1000, 5000)?.ratio).toBeCloseTo(1.2, 9);
  });

  test("rounding keeps 3 decimals and a missing ratio", () => {
    const f = flatnessRatio([run(1, [3]), run(2, [10])], "nft -f", 1, 2);
    expect(f && roundFlatness(f).ratio).toBe(3.333);
    expect(
      roundFlatness({ path: "nft -f", small: 1, large: 2, smallP50: 0, largeP50: 1, ratio: null }).ratio,
    ).toBeNull();
  });
});

describe("stateSyncReport", () => {
  test("summarises each series and keeps what the row is", () => {
    const r = stateSyncReport(run(10_000, [30, 10, 20], { changes: 100, path: "nft -i" }));
    expect([r.services, r.path, r.changes]).toEqual([10_000, "nft -i", 100]);
    expect([r.totalMs.n, r.totalMs.min, r.totalMs.p50, r.totalMs.max]).toEqual([3, 10, 20, 30]);
    expect(r.renderMs.p50).toBe(2);
    expect(r.transactionLines.p50).toBe(2);
  });

  test("a row without samples is refused with its name", () => {
    expect(() => stateSyncReport(run(10_000, []))).toThrow(/nft -f at 10000 Services/);
  });
});

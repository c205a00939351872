import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { EmptySampleError, percentile, ratio, ratioOfSummaries, summarize } from "./stats.ts";

describe("percentile", () => {
  test("nearest rank over 1..100 gives the rank itself", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 1)).toBe(1);
  });

  test("p99 of fewer than 100 samples is the maximum", () => {
    expect(percentile([1, 2, 3, 4, 5], 99)).toBe(5);
    expect(percentile([7], 50)).toBe(7);
  });

  test("rejects empty samples and percentiles outside (0, 100]", () => {
    expect(() => percentile([], 50)).toThrow(EmptySampleError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("summarize", () => {
  test("property: min ≤ p50 ≤ p99 ≤ max, every statistic is a sample, input order is irrelevant", () => {
    const rand = mulberry32(0xc0ffee);
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(rand() * 250);
      const samples = Array.from({ length: n }, () => Math.round(rand() * 1e6) / 1e3);
      const s = summarize(samples);
      expect(s.n).toBe(n);
      expect(s.min).toBeLessThanOrEqual(s.p50);
      expect(s.p50).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.max);
      for (const v of [s.min, s.p50, s.p99, s.max]) expect(samples).toContain(v);
      const shuffled = [...samples].sort(() => rand() - 0.5);
      expect(summarize(shuffled)).toEqual(s);
      // At least half of the samples are at or below the median, and at most half strictly below it.
      expect(samples.filter((v) => v <= s.p50).length * 2).toBeGreaterThanOrEqual(n);
      expect(samples.filter((v) => v < s.p50).length * 2).toBeLessThan(n + 1);
    }
  });

  test("does not reorder the caller's array", () => {
    const samples = [3, 1, 2];
    summarize(samples);
    expect(samples).toEqual([3, 1, 2]);
  });

  test("names what had no samples", () => {
    expect(() => summarize([], "podnet ADD latency")).toThrow(
      'Cannot summarise "podnet ADD latency": no successful samples',
    );
  });
});

describe("ratio", () => {
  test("is podnet over reference, null when the reference is zero", () => {
    expect(ratio(5, 10)).toBe(0.5);
    expect(ratio(5, 0)).toBeNull();
    const q = ratioOfSummaries(summarize([2, 4, 6]), summarize([1, 2, 3]));
    expect(q).toEqual({ min: 2, p50: 2, p99: 2 });
  });
});

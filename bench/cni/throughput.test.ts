import { describe, expect, test } from "bun:test";
import { roundOrder, roundSizes } from "./latency.ts";
import { podsPerSecond, runPool } from "./throughput.ts";

describe("runPool", () => {
  test("never has more than `concurrency` operations in flight and returns results in item order", async () => {
    for (const concurrency of [1, 3, 8, 50]) {
      let inFlight = 0;
      let peak = 0;
      const items = Array.from({ length: 40 }, (_, i) => i);
      const results = await runPool(items, concurrency, async (item) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        // Later items finish sooner, so completion order differs from item order.
        await Bun.sleep((40 - item) % 5);
        inFlight--;
        return item * 2;
      });
      expect(results).toEqual(items.map((i) => i * 2));
      expect(peak).toBe(Math.min(concurrency, items.length));
    }
  });

  test("an empty list runs nothing", async () => {
    expect(await runPool([], 8, async () => 1)).toEqual([]);
  });
});

describe("podsPerSecond", () => {
  test("is total successful pods over total time, not a mean of per-round rates", () => {
    const runs = [
      { pods: 100, succeeded: 100, seconds: 1, opMs: [] },
      { pods: 100, succeeded: 100, seconds: 4, opMs: [] },
    ];
    expect(podsPerSecond(runs)).toBe(40);
    expect(podsPerSecond([{ pods: 10, succeeded: 8, seconds: 2, opMs: [] }])).toBe(4);
    expect(podsPerSecond([])).toBe(0);
  });
});

describe("rounds", () => {
  test("split the pods into full batches and a remainder", () => {
    expect(roundSizes(100, 25)).toEqual([25, 25, 25, 25]);
    expect(roundSizes(101, 25)).toEqual([25, 25, 25, 25, 1]);
    expect(roundSizes(10, 25)).toEqual([10]);
  });

  test("rotate who goes first, so each subject leads in as many rounds as the others", () => {
    const firsts = Array.from({ length: 9 }, (_, r) => roundOrder(r)[0]);
    for (const k of ["podnet", "agent", "reference"]) expect(firsts.filter((f) => f === k).length).toBe(3);
    for (let r = 0; r < 9; r++) expect(new Set(roundOrder(r)).size).toBe(3);
    expect(roundOrder(1)).toEqual(["agent", "reference", "podnet"]);
  });
});

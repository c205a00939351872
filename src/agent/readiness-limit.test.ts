import { describe, expect, test } from "bun:test";
import { ReadinessLimit } from "./readiness-limit.ts";

describe("ReadinessLimit", () => {
  test("at most max run at once; the others wait their turn in order", async () => {
    const limit = new ReadinessLimit(2);
    const order: number[] = [];
    const turns = [1, 2, 3, 4].map((n) => limit.acquire().then(() => order.push(n)));
    await Promise.resolve();
    expect(limit.load).toEqual({ running: 2, waiting: 2 });
    expect(order).toEqual([1, 2]);
    limit.release();
    await turns[2];
    expect(order).toEqual([1, 2, 3]);
    expect(limit.load).toEqual({ running: 2, waiting: 1 });
    limit.release();
    limit.release();
    limit.release();
    await Promise.all(turns);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(limit.load).toEqual({ running: 0, waiting: 0 });
  });

  test("acquireFor gives the slot up by itself after the hold, and releasing again is harmless", async () => {
    const limit = new ReadinessLimit(1);
    const release = await limit.acquireFor(20);
    let next = false;
    const waiting = limit.acquireFor(60_000).then((r) => {
      next = true;
      return r;
    });
    expect(limit.load).toEqual({ running: 1, waiting: 1 });
    // The first never releases; the second gets the slot when the hold is over.
    const second = await waiting;
    expect(next).toBe(true);
    release();
    expect(limit.load).toEqual({ running: 1, waiting: 0 });
    second();
    second();
    expect(limit.load).toEqual({ running: 0, waiting: 0 });
  });

  test("a limit below 1 is refused", () => {
    expect(() => new ReadinessLimit(0)).toThrow("Invalid readiness check concurrency 0");
  });
});

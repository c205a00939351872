import { describe, expect, test } from "bun:test";
import { BurstCollector } from "./burst-collector.ts";

describe("BurstCollector", () => {
  test("collects when a large burst ends, or every so many items of a long one, at most once per interval", () => {
    let collections = 0;
    const c = new BurstCollector(50, 1000, 200, () => void collections++);
    expect(c.after(49, false, 0)).toBe(false);
    expect(c.after(51, false, 10)).toBe(true);
    // A long burst: collected once 1,000 items came, not before, and not within 200 ms of the last.
    expect(c.after(600, true, 300)).toBe(false);
    expect(c.after(600, true, 400)).toBe(true);
    expect(c.after(1000, true, 450)).toBe(false);
    expect(c.after(0, true, 700)).toBe(true);
    // Steady small changes never add up to a collection.
    for (let t = 2000; t < 3000; t += 10) expect(c.after(5, false, t)).toBe(false);
    expect(collections).toBe(3);
  });
});

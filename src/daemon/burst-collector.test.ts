import { describe, expect, test } from "bun:test";
import { BurstCollector } from "./burst-collector.ts";

describe("BurstCollector", () => {
  test("collects after a round of at least the threshold, at most once per interval", () => {
    let collections = 0;
    const c = new BurstCollector(50, 200, () => void collections++);
    expect(c.after(49, 0)).toBe(false);
    expect(c.after(50, 10)).toBe(true);
    expect(c.after(500, 100)).toBe(false);
    expect(c.after(500, 210)).toBe(true);
    expect(collections).toBe(2);
  });
});

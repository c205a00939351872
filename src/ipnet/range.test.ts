import { describe, expect, test } from "bun:test";
import { formatIP, parseIP } from "./address.ts";
import { formatRange, iterateRange, makeRange, rangeContains, rangeSize, rangesOverlap } from "./range.ts";

const r = (a: string, b: string) => makeRange(parseIP(a), parseIP(b));

describe("IPRange", () => {
  test("contains, size and iteration are inclusive", () => {
    const range = r("10.0.0.10", "10.0.0.12");
    expect(rangeSize(range)).toBe(3n);
    expect(rangeContains(range, parseIP("10.0.0.10"))).toBe(true);
    expect(rangeContains(range, parseIP("10.0.0.12"))).toBe(true);
    expect(rangeContains(range, parseIP("10.0.0.13"))).toBe(false);
    expect(rangeContains(range, parseIP("::a00:a"))).toBe(false);
    expect([...iterateRange(range)].map(formatIP)).toEqual(["10.0.0.10", "10.0.0.11", "10.0.0.12"]);
    expect(formatRange(range)).toBe("10.0.0.10-10.0.0.12");
  });

  test("overlap", () => {
    expect(rangesOverlap(r("10.0.0.1", "10.0.0.5"), r("10.0.0.5", "10.0.0.9"))).toBe(true);
    expect(rangesOverlap(r("10.0.0.1", "10.0.0.5"), r("10.0.0.6", "10.0.0.9"))).toBe(false);
    expect(rangesOverlap(r("10.0.0.1", "10.0.0.9"), r("10.0.0.3", "10.0.0.4"))).toBe(true);
    expect(rangesOverlap(r("::1", "::9"), r("0.0.0.1", "0.0.0.9"))).toBe(false);
  });

  test("makeRange rejects reversed and mixed ranges", () => {
    expect(() => r("10.0.0.2", "10.0.0.1")).toThrow("starts after it ends");
    expect(() => r("10.0.0.1", "::2")).toThrow("mixes IPv4 and IPv6");
  });
});

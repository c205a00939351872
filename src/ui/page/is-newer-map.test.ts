import { describe, expect, test } from "bun:test";
import { isNewerMap } from "./is-newer-map.ts";

const at = (version: number, second: number) => ({
  version,
  generatedAt: new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString(),
});

describe("isNewerMap", () => {
  test("the first map is drawn", () => {
    expect(isNewerMap(undefined, at(3, 0))).toBe(true);
  });
  test("a higher version replaces the drawn map", () => {
    expect(isNewerMap(at(3, 0), at(4, 1))).toBe(true);
  });
  test("the same version is not drawn again", () => {
    expect(isNewerMap(at(3, 0), at(3, 0))).toBe(false);
  });
  test("an older answer arriving late (the /api/map fetch after the first event) is dropped", () => {
    expect(isNewerMap(at(5, 2), at(4, 1))).toBe(false);
  });
  test("a restarted server's lower version generated later is drawn", () => {
    expect(isNewerMap(at(9, 2), at(1, 30))).toBe(true);
  });
});

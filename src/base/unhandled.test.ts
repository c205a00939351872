import { describe, expect, test } from "bun:test";
import { unhandled } from "./unhandled.ts";

type Shape = { kind: "circle" } | { kind: "square" };

function area(s: Shape): string {
  switch (s.kind) {
    case "circle":
      return "round";
    case "square":
      return "square";
    default:
      unhandled(s, (shown) => new RangeError(`unknown shape ${shown}`));
  }
}

describe("unhandled", () => {
  test("a value outside the union at run time throws the caller's error, showing the value", () => {
    expect(area({ kind: "circle" })).toBe("round");
    const outside = JSON.parse('{"kind":"triangle"}') as Shape;
    expect(() => area(outside)).toThrow(new RangeError('unknown shape {"kind":"triangle"}'));
  });

  test("without an error factory it throws a plain Error naming the value", () => {
    expect(() => unhandled("x" as never)).toThrow('unhandled "x"');
    expect(() => unhandled(undefined as never)).toThrow("unhandled undefined");
  });
});

import { describe, expect, test } from "bun:test";
import { errorText } from "./error-text.ts";

describe("errorText", () => {
  test("an Error (or a subclass) gives its message, without its name", () => {
    expect(errorText(new Error("table inet podnet: busy"))).toBe("table inet podnet: busy");
    expect(errorText(new RangeError("port 70000 is out of range"))).toBe("port 70000 is out of range");
  });

  test("anything else thrown is shown as its String()", () => {
    expect(errorText("socket closed")).toBe("socket closed");
    expect(errorText(42)).toBe("42");
    expect(errorText(undefined)).toBe("undefined");
    expect(errorText({ code: "EPERM" })).toBe("[object Object]");
  });
});

import { describe, expect, test } from "bun:test";
import { CniError, ErrorCode, isCniError } from "./errors.ts";

describe("ErrorCode", () => {
  test("carries the spec's well-known values", () => {
    expect(ErrorCode).toEqual({
      IncompatibleVersion: 1,
      UnsupportedField: 2,
      UnknownContainer: 3,
      InvalidEnvironment: 4,
      IOFailure: 5,
      DecodingFailure: 6,
      InvalidNetworkConfig: 7,
      TryAgainLater: 11,
      NotAvailable: 50,
      NotAvailableExistingAffected: 51,
    });
  });
});

describe("CniError", () => {
  test("is an Error with a name, code, msg and details", () => {
    const e = new CniError(ErrorCode.IOFailure, "Cannot write lease", "disk full");
    expect(e).toBeInstanceOf(Error);
    expect(isCniError(e)).toBe(true);
    expect(isCniError(new Error("x"))).toBe(false);
    expect(e.name).toBe("CniError");
    expect(e.code).toBe(5);
    expect(e.msg).toBe("Cannot write lease");
    expect(e.message).toBe("Cannot write lease");
    expect(e.details).toBe("disk full");
  });

  test("toJSON uses the version it is given and omits absent details", () => {
    expect(new CniError(7, "bad").toJSON("1.1.0")).toEqual({ cniVersion: "1.1.0", code: 7, msg: "bad" });
    expect(new CniError(7, "bad", "").toJSON("0.4.0")).toEqual({ cniVersion: "0.4.0", code: 7, msg: "bad" });
    const json = new CniError(11, "busy", "lock held").toJSON("1.0.0");
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      cniVersion: "1.0.0",
      code: 11,
      msg: "busy",
      details: "lock held",
    });
  });

  test("plugin-specific codes above 99 are allowed", () => {
    expect(new CniError(100, "podnet: lease conflict").code).toBe(100);
  });

  test("refuses codes that a runtime would read as success or nonsense", () => {
    expect(() => new CniError(0, "x")).toThrow(RangeError);
    expect(() => new CniError(-1, "x")).toThrow(RangeError);
    expect(() => new CniError(1.5, "x")).toThrow(/positive integer/);
  });
});

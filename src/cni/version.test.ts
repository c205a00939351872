import { describe, expect, test } from "bun:test";
import { CniError } from "./errors.ts";
import {
  assertSupportedVersion,
  compareVersions,
  highestSupported,
  isSupportedVersion,
  SUPPORTED_VERSIONS,
  versionResult,
  versionSupports,
} from "./version.ts";

function codeOf(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof CniError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a CniError");
}

describe("compareVersions", () => {
  test("orders numerically, not lexically", () => {
    expect(compareVersions("1.10.0", "1.9.0")).toBe(1);
    expect(compareVersions("0.4.0", "1.0.0")).toBe(-1);
    expect(compareVersions("1.1.0", "1.1.0")).toBe(0);
    expect(compareVersions("1.0.1", "1.0.0")).toBe(1);
  });

  test("is antisymmetric over random versions", () => {
    let seed = 0x2f6b_1a3d;
    const next = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % 12;
    };
    for (let i = 0; i < 500; i++) {
      const a = `${next()}.${next()}.${next()}`;
      const b = `${next()}.${next()}.${next()}`;
      expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
      expect(compareVersions(a, a)).toBe(0);
    }
  });

  test("refuses strings that are not MAJOR.MINOR.PATCH", () => {
    for (const bad of ["1.0", "v1.0.0", "1.0.0-rc1", "01.0.0", ""]) {
      expect(codeOf(() => compareVersions(bad, "1.0.0")).code).toBe(1);
    }
  });
});

describe("assertSupportedVersion", () => {
  test("accepts every supported version", () => {
    for (const v of SUPPORTED_VERSIONS) expect(assertSupportedVersion(v)).toBe(v);
    expect(isSupportedVersion("1.1.0")).toBe(true);
    expect(isSupportedVersion(110)).toBe(false);
  });

  test("an unsupported version is code 1 and names it and the supported ones", () => {
    const e = codeOf(() => assertSupportedVersion("0.3.1"));
    expect(e.code).toBe(1);
    expect(e.message).toContain('"0.3.1"');
    expect(e.message).toContain("0.4.0, 1.0.0, 1.1.0");
    expect(codeOf(() => assertSupportedVersion("2.0.0")).code).toBe(1);
    expect(codeOf(() => assertSupportedVersion("")).code).toBe(1);
  });

  test("a missing or non-string version is code 7", () => {
    expect(codeOf(() => assertSupportedVersion(undefined))).toEqual({
      code: 7,
      message: 'Invalid network configuration: "cniVersion" is missing',
    });
    expect(codeOf(() => assertSupportedVersion(null)).code).toBe(7);
    const e = codeOf(() => assertSupportedVersion(1.1));
    expect(e.code).toBe(7);
    expect(e.message).toContain("must be a string, got the number 1.1");
  });
});

describe("versionSupports", () => {
  test("CHECK from 0.4.0, GC and STATUS from 1.1.0", () => {
    expect(versionSupports("0.4.0", "check")).toBe(true);
    expect(versionSupports("1.0.0", "check")).toBe(true);
    expect(versionSupports("0.4.0", "gc")).toBe(false);
    expect(versionSupports("1.0.0", "gc")).toBe(false);
    expect(versionSupports("1.0.0", "status")).toBe(false);
    expect(versionSupports("1.1.0", "gc")).toBe(true);
    expect(versionSupports("1.1.0", "status")).toBe(true);
  });
});

describe("versionResult", () => {
  test("echoes the caller's version and lists ours", () => {
    expect(versionResult("1.0.0")).toEqual({
      cniVersion: "1.0.0",
      supportedVersions: ["0.4.0", "1.0.0", "1.1.0"],
    });
    // A runtime asking VERSION with a version we lack must still learn what we support.
    expect(versionResult("9.9.9").cniVersion).toBe("9.9.9");
    expect(versionResult().cniVersion).toBe("1.1.0");
    expect(versionResult("").cniVersion).toBe("1.1.0");
  });

  test("the supported list is a copy", () => {
    versionResult().supportedVersions.pop();
    expect(versionResult().supportedVersions).toHaveLength(3);
  });
});

describe("highestSupported", () => {
  test("picks the highest version both sides know", () => {
    expect(highestSupported(["1.0.0", "1.1.0", "2.0.0"])).toBe("1.1.0");
    expect(highestSupported(["0.4.0", "0.3.1"])).toBe("0.4.0");
    expect(highestSupported(["3.0.0"])).toBeUndefined();
    expect(highestSupported([])).toBeUndefined();
  });
});

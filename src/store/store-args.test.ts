import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { InvalidStoreArgumentError } from "./store.ts";
import { checkTxn, compareUtf8, isLeaseId, prefixEnd, prefixRangeBytes } from "./store-args.ts";

// Code points around the awkward edges: ASCII, the 2/3/4-byte UTF-8 boundaries, the surrogate
// gap, and the last code point.
const POINTS = [0x2f, 0x30, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x10fffe, 0x10ffff];

function randomString(rand: () => number, maxLength: number): string {
  const length = Math.floor(rand() * (maxLength + 1));
  return Array.from({ length }, () =>
    String.fromCodePoint(POINTS[Math.floor(rand() * POINTS.length)] as number),
  ).join("");
}

describe("prefixEnd", () => {
  test("bounds exactly the strings starting with the prefix, in UTF-8 byte order", () => {
    const rand = mulberry32(42);
    for (let i = 0; i < 5000; i++) {
      const prefix = randomString(rand, 3);
      const key = rand() < 0.5 ? prefix + randomString(rand, 3) : randomString(rand, 5);
      const end = prefixEnd(prefix);
      const inRange = compareUtf8(key, prefix) >= 0 && (end === undefined || compareUtf8(key, end) < 0);
      expect({ prefix, key, inRange }).toEqual({ prefix, key, inRange: key.startsWith(prefix) });
    }
  });

  test("has no bound for the empty prefix or one made only of U+10FFFF", () => {
    expect(prefixEnd("")).toBeUndefined();
    expect(prefixEnd("\u{10ffff}\u{10ffff}")).toBeUndefined();
    expect(prefixEnd("/a/")).toBe("/a0");
    expect(prefixEnd("a\u{10ffff}")).toBe("b");
    expect(prefixEnd("\ud7ff")).toBe("\ue000");
  });
});

describe("prefixRangeBytes", () => {
  test("covers exactly the keys starting with the prefix, as etcd compares bytes", () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 5000; i++) {
      const prefix = randomString(rand, 3);
      const key = rand() < 0.5 ? prefix + randomString(rand, 3) : randomString(rand, 5);
      const { key: from, rangeEnd } = prefixRangeBytes(prefix);
      const bytes = Buffer.from(key);
      const toEnd = rangeEnd.length === 1 && rangeEnd[0] === 0;
      const inRange = Buffer.compare(bytes, from) >= 0 && (toEnd || Buffer.compare(bytes, rangeEnd) < 0);
      // The empty prefix starts at "\0": etcd keys are never empty.
      const expected = key.startsWith(prefix) && key.length > 0;
      expect({ prefix, key, inRange }).toEqual({ prefix, key, inRange: expected });
    }
    expect(prefixRangeBytes("")).toEqual({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) });
    expect(prefixRangeBytes("/a/")).toEqual({ key: Buffer.from("/a/"), rangeEnd: Buffer.from("/a0") });
  });
});

describe("argument checks", () => {
  test("lease IDs are positive int64 decimals", () => {
    expect(isLeaseId("1")).toBe(true);
    expect(isLeaseId("9223372036854775807")).toBe(true);
    for (const bad of ["0", "-1", "01", "9223372036854775808", "1e3", "", " 1", "abc"]) {
      expect({ bad, ok: isLeaseId(bad) }).toEqual({ bad, ok: false });
    }
  });

  test("transactions refuse a key twice in one branch, unknown operators and negative numbers", () => {
    const put = { kind: "put", key: "/a", value: "1" } as const;
    expect(() => checkTxn([], [put, { kind: "delete", key: "/a" }], [])).toThrow(InvalidStoreArgumentError);
    expect(() => checkTxn([], [put], [put])).not.toThrow();
    expect(() => checkTxn([{ key: "/a", target: "version", op: "=", value: -1 }], [], [])).toThrow(
      InvalidStoreArgumentError,
    );
    expect(() => checkTxn([{ key: "", target: "version", op: "=", value: 0 }], [], [])).toThrow(
      InvalidStoreArgumentError,
    );
  });
});

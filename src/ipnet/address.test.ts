import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import {
  addToIP,
  canonicalIP,
  compareIP,
  formatIP,
  ipEquals,
  ipFromBigint,
  isIPv4Mapped,
  parseIP,
  sameIP,
  tryParseIP,
} from "./address.ts";
import { AddressParseError } from "./errors.ts";

function randomBigint(rand: () => number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i += 16) v = (v << 16n) | BigInt(Math.floor(rand() * 65536));
  return v & ((1n << BigInt(bits)) - 1n);
}

// Biases v6 values towards zero runs so that "::" compression is exercised often.
function randomV6(rand: () => number): bigint {
  let v = 0n;
  for (let i = 0; i < 8; i++) {
    const group = rand() < 0.4 ? 0n : BigInt(Math.floor(rand() * 65536));
    v = (v << 16n) | group;
  }
  return v;
}

describe("parseIP / formatIP", () => {
  test("IPv4 round trip for random addresses", () => {
    const rand = mulberry32(42);
    for (let i = 0; i < 2000; i++) {
      const ip = ipFromBigint(4, randomBigint(rand, 32));
      const parsed = parseIP(formatIP(ip));
      expect(parsed.family).toBe(4);
      expect(parsed.value).toBe(ip.value);
    }
  });

  test("IPv6 round trip for random addresses, output is canonical", () => {
    const rand = mulberry32(7);
    for (let i = 0; i < 2000; i++) {
      const ip = ipFromBigint(6, i % 2 === 0 ? randomV6(rand) : randomBigint(rand, 128));
      const text = formatIP(ip);
      const parsed = parseIP(text);
      expect(parsed.value).toBe(ip.value);
      expect(formatIP(parsed)).toBe(text);
      expect(text).toBe(text.toLowerCase());
      expect(text.split("::").length).toBeLessThanOrEqual(2);
    }
  });

  test.each([
    ["0.0.0.0", 0n],
    ["255.255.255.255", 0xffffffffn],
    ["10.0.0.1", 0x0a000001n],
  ])("IPv4 %s", (text, value) => {
    const ip = parseIP(text);
    expect(ip.family).toBe(4);
    expect(ip.value).toBe(value);
    expect(formatIP(ip)).toBe(text);
  });

  test.each([
    // RFC 5952 §4: canonical text for input written in other allowed forms.
    ["2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // single zero group is not compressed
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first run wins on a tie
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // longest run wins
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["fe80::1:2", "fe80::1:2"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"],
    ["::ffff:0102:0304", "::ffff:1.2.3.4"],
    ["::1.2.3.4", "::102:304"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"],
  ])("IPv6 %s formats as %s", (input, canonical) => {
    expect(formatIP(parseIP(input))).toBe(canonical);
  });

  test("v4-mapped detection", () => {
    expect(isIPv4Mapped(parseIP("::ffff:10.0.0.1"))).toBe(true);
    expect(isIPv4Mapped(parseIP("::10.0.0.1"))).toBe(false);
    expect(isIPv4Mapped(parseIP("10.0.0.1"))).toBe(false);
  });

  test.each([
    ["", "empty input"],
    ["10.0.0.256", "octet out of range"],
    ["10.0.0.01", "leading zero"],
    ["010.0.0.1", "leading zero"],
    ["10.0.0", "expected 4"],
    ["10.0.0.0.1", "expected 4"],
    ["10..0.1", "empty octet"],
    ["1.2.3.-4", "not a decimal"],
    [" 10.0.0.1", "whitespace"],
    ["10.0.0.1\n", "whitespace"],
    [":::", 'more than one "::"'],
    ["1::2::3", 'more than one "::"'],
    ["fe80::1%eth0", "zone"],
    ["[::1]", "brackets"],
    ["abc", "neither"],
    ["1:2:3:4:5:6:7", "expected 8 groups"],
    ["1:2:3:4:5:6:7:8:9", "expected 8 groups"],
    ["1:2:3:4:5:6:7:8::", "at least one zero group"],
    ["12345::", "hexadecimal"],
    ["g::1", "hexadecimal"],
    [":1::", "empty group"],
    ["1:", "empty group"],
    ["::ffff:1.2.3.256", "octet out of range"],
    ["::1.2.3.4:5", "hexadecimal"],
    ["1:2:3:4:5:6:7:1.2.3.4", "expected 8 groups"],
  ])("rejects %p (%s)", (input, reason) => {
    let caught: unknown;
    try {
      parseIP(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AddressParseError);
    const error = caught as AddressParseError;
    expect(error.input).toBe(input);
    expect(error.reason).toContain(reason);
    expect(error.message).toStartWith(`Invalid IP address "${input}": `);
    expect(error.name).toBe("AddressParseError");
  });

  test("error message matches the house format", () => {
    expect(() => parseIP("10.0.0.256")).toThrow('Invalid IP address "10.0.0.256": octet out of range');
  });

  test("tryParseIP returns undefined instead of throwing", () => {
    expect(tryParseIP("nope")).toBeUndefined();
    expect(tryParseIP("::1")?.value).toBe(1n);
  });
});

describe("arithmetic", () => {
  test("ipFromBigint bounds", () => {
    expect(() => ipFromBigint(4, 1n << 32n)).toThrow(RangeError);
    expect(() => ipFromBigint(4, -1n)).toThrow(RangeError);
    expect(ipFromBigint(6, (1n << 128n) - 1n).family).toBe(6);
    expect(() => ipFromBigint(6, 1n << 128n)).toThrow(RangeError);
  });

  test("addToIP across octet boundaries and at the edges", () => {
    expect(formatIP(addToIP(parseIP("10.0.0.255"), 1n))).toBe("10.0.1.0");
    expect(formatIP(addToIP(parseIP("10.0.1.0"), -1n))).toBe("10.0.0.255");
    expect(() => addToIP(parseIP("255.255.255.255"), 1n)).toThrow(RangeError);
    expect(() => addToIP(parseIP("0.0.0.0"), -1n)).toThrow(RangeError);
    expect(() => addToIP(parseIP("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1n)).toThrow(RangeError);
    expect(formatIP(addToIP(parseIP("::ffff"), 1n))).toBe("::1:0");
  });

  test("compare orders by family then value", () => {
    const sorted = ["::1", "10.0.0.2", "10.0.0.1", "::", "255.255.255.255"].map(parseIP).sort(compareIP);
    expect(sorted.map(formatIP)).toEqual(["10.0.0.1", "10.0.0.2", "255.255.255.255", "::", "::1"]);
    expect(ipEquals(parseIP("::ffff:1.2.3.4"), parseIP("1.2.3.4"))).toBe(false);
    expect(ipEquals(parseIP("2001:db8::1"), parseIP("2001:DB8:0::1"))).toBe(true);
  });
});

describe("canonicalIP and sameIP", () => {
  test("canonicalIP writes an address as formatIP does and gives undefined for other text", () => {
    expect(canonicalIP("FD00:10:96:0:0:0:0:A")).toBe("fd00:10:96::a");
    expect(canonicalIP("10.96.0.10")).toBe("10.96.0.10");
    expect(canonicalIP("[fd00::1]")).toBeUndefined();
    expect(canonicalIP("node1")).toBeUndefined();
  });

  test("sameIP compares spellings of one address, not text", () => {
    expect(sameIP("fd00:10:96::a", "FD00:10:96:0:0:0:0:A")).toBe(true);
    expect(sameIP("fd00:10:96::a", "fd00:10:96::b")).toBe(false);
    expect(sameIP("10.96.0.10", "::ffff:10.96.0.10")).toBe(false);
    expect(sameIP("?", "?")).toBe(false);
  });
});

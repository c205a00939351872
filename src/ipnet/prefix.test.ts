import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { formatIP, ipFromBigint, parseIP } from "./address.ts";
import { AddressParseError } from "./errors.ts";
import {
  containsIP,
  containsPrefix,
  firstIP,
  formatInterfaceCIDR,
  formatPrefix,
  iterateIPs,
  lastIP,
  nthIP,
  nthSubnet,
  parseInterfaceCIDR,
  parsePrefix,
  prefixEquals,
  prefixesOverlap,
  prefixFromIP,
  prefixSize,
  subnetCount,
  subnets,
} from "./prefix.ts";

describe("parsePrefix", () => {
  test("strict mode names the input and suggests the masked form", () => {
    expect(() => parsePrefix("10.0.0.5/24")).toThrow(
      'Invalid IP prefix "10.0.0.5/24": host bits are set (did you mean "10.0.0.0/24"?)',
    );
    expect(formatPrefix(parsePrefix("10.0.0.5/24", { strict: false }))).toBe("10.0.0.0/24");
    expect(formatPrefix(parsePrefix("2001:db8::1/64", { strict: false }))).toBe("2001:db8::/64");
  });

  test.each([
    ["10.0.0.0", 'missing "/length"'],
    ["10.0.0.0/33", "out of range"],
    ["::/129", "out of range"],
    ["10.0.0.0/024", "not a decimal"],
    ["10.0.0.0/", "not a decimal"],
    ["10.0.0.0/-1", "not a decimal"],
    ["10.0.0.256/24", "octet out of range"],
    ["fe80::%eth0/64", "zone"],
  ])("rejects %p", (input, reason) => {
    let caught: unknown;
    try {
      parsePrefix(input);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AddressParseError);
    expect((caught as AddressParseError).reason).toContain(reason);
    expect((caught as AddressParseError).input).toBe(input);
  });

  test("round trip of random prefixes", () => {
    const rand = mulberry32(99);
    for (let i = 0; i < 1000; i++) {
      const v6 = rand() < 0.5;
      const bits = v6 ? 128 : 32;
      let value = 0n;
      for (let b = 0; b < bits; b += 16) value = (value << 16n) | BigInt(Math.floor(rand() * 65536));
      const ip = ipFromBigint(v6 ? 6 : 4, value);
      const length = Math.floor(rand() * (bits + 1));
      const p = prefixFromIP(ip, length);
      expect(prefixEquals(parsePrefix(formatPrefix(p)), p)).toBe(true);
      expect(containsIP(p, ip)).toBe(true);
    }
  });

  test("interface CIDR keeps the host address", () => {
    const { ip, prefix } = parseInterfaceCIDR("10.0.0.5/24");
    expect(formatIP(ip)).toBe("10.0.0.5");
    expect(formatPrefix(prefix)).toBe("10.0.0.0/24");
    expect(formatInterfaceCIDR(ip, 24)).toBe("10.0.0.5/24");
    expect(formatInterfaceCIDR(parseIP("2001:db8::5"), 64)).toBe("2001:db8::5/64");
    expect(() => parseInterfaceCIDR("10.0.0.5")).toThrow('Invalid interface address "10.0.0.5"');
    expect(() => formatInterfaceCIDR(ip, 33)).toThrow(RangeError);
  });
});

describe("boundaries", () => {
  test.each([
    ["0.0.0.0/0", 1n << 32n, "0.0.0.0", "255.255.255.255"],
    ["10.0.0.0/31", 2n, "10.0.0.0", "10.0.0.1"],
    ["10.0.0.7/32", 1n, "10.0.0.7", "10.0.0.7"],
    ["::/0", 1n << 128n, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
    ["2001:db8::/127", 2n, "2001:db8::", "2001:db8::1"],
    ["2001:db8::9/128", 1n, "2001:db8::9", "2001:db8::9"],
    ["10.1.2.0/24", 256n, "10.1.2.0", "10.1.2.255"],
  ])("%s", (text, size, first, last) => {
    const p = parsePrefix(text);
    expect(prefixSize(p)).toBe(size);
    expect(formatIP(firstIP(p))).toBe(first);
    expect(formatIP(lastIP(p))).toBe(last);
    expect(formatIP(nthIP(p, size - 1n))).toBe(last);
    expect(() => nthIP(p, size)).toThrow(RangeError);
    expect(() => nthIP(p, -1n)).toThrow(RangeError);
  });

  test("iterateIPs yields every address once, in order", () => {
    expect([...iterateIPs(parsePrefix("10.0.0.0/30"))].map(formatIP)).toEqual([
      "10.0.0.0",
      "10.0.0.1",
      "10.0.0.2",
      "10.0.0.3",
    ]);
    expect([...iterateIPs(parsePrefix("::/127"))].map(formatIP)).toEqual(["::", "::1"]);
  });
});

describe("containment and overlap", () => {
  const p = parsePrefix;
  test("containsIP", () => {
    expect(containsIP(p("10.0.0.0/24"), parseIP("10.0.0.255"))).toBe(true);
    expect(containsIP(p("10.0.0.0/24"), parseIP("10.0.1.0"))).toBe(false);
    expect(containsIP(p("0.0.0.0/0"), parseIP("::"))).toBe(false);
    expect(containsIP(p("::/0"), parseIP("1.2.3.4"))).toBe(false);
    expect(containsIP(p("::/0"), parseIP("::ffff:1.2.3.4"))).toBe(true);
  });

  test("containsPrefix and prefixesOverlap", () => {
    expect(containsPrefix(p("10.0.0.0/8"), p("10.200.0.0/16"))).toBe(true);
    expect(containsPrefix(p("10.200.0.0/16"), p("10.0.0.0/8"))).toBe(false);
    expect(containsPrefix(p("10.0.0.0/24"), p("10.0.0.0/24"))).toBe(true);
    expect(prefixesOverlap(p("10.0.0.0/8"), p("10.200.0.0/16"))).toBe(true);
    expect(prefixesOverlap(p("10.200.0.0/16"), p("10.0.0.0/8"))).toBe(true);
    expect(prefixesOverlap(p("10.0.0.0/24"), p("10.0.1.0/24"))).toBe(false);
    expect(prefixesOverlap(p("10.0.0.0/24"), p("::/0"))).toBe(false);
    expect(prefixesOverlap(p("2001:db8::/32"), p("2001:db8:1::/48"))).toBe(true);
  });
});

describe("carving", () => {
  test("10.0.0.0/14 into /24 gives 1024 subnets, the last is 10.3.255.0/24", () => {
    const cluster = parsePrefix("10.0.0.0/14");
    expect(subnetCount(cluster, 24)).toBe(1024n);
    expect(formatPrefix(nthSubnet(cluster, 24, 0n))).toBe("10.0.0.0/24");
    expect(formatPrefix(nthSubnet(cluster, 24, 1023n))).toBe("10.3.255.0/24");
    const all = [...subnets(cluster, 24)];
    expect(all.length).toBe(1024);
    expect(new Set(all.map(formatPrefix)).size).toBe(1024);
    for (const s of all) expect(containsPrefix(cluster, s)).toBe(true);
    expect(() => nthSubnet(cluster, 24, 1024n)).toThrow(RangeError);
    expect(() => nthSubnet(cluster, 13, 0n)).toThrow(RangeError);
    expect(() => subnetCount(cluster, 33)).toThrow(RangeError);
  });

  test("IPv6 carving with bigint counts", () => {
    const p = parsePrefix("2001:db8::/32");
    expect(subnetCount(p, 64)).toBe(1n << 32n);
    expect(formatPrefix(nthSubnet(p, 64, (1n << 32n) - 1n))).toBe("2001:db8:ffff:ffff::/64");
    expect(formatPrefix(nthSubnet(p, 32, 0n))).toBe("2001:db8::/32");
  });
});

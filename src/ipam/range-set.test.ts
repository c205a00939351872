import { describe, expect, test } from "bun:test";
import { formatIP, parseIP } from "../ipnet/address.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { InvalidRangeError } from "./errors.ts";
import {
  allocatableCount,
  buildRange,
  buildRangeSets,
  isAllocatable,
  type RangeInput,
  rangeSetKey,
} from "./range-set.ts";

function show(input: RangeInput): { start: string; end: string; gateway: string | undefined } {
  const r = buildRange(input);
  return { start: formatIP(r.start), end: formatIP(r.end), gateway: r.gateway && formatIP(r.gateway) };
}

function invalid(fn: () => unknown): InvalidRangeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidRangeError) return error;
    throw error;
  }
  throw new Error("expected an InvalidRangeError");
}

describe("buildRange defaults (host-local compatible)", () => {
  test("IPv4 /24", () => {
    expect(show({ subnet: "10.0.0.0/24" })).toEqual({
      start: "10.0.0.1",
      end: "10.0.0.254",
      gateway: "10.0.0.1",
    });
    expect(allocatableCount(buildRange({ subnet: "10.0.0.0/24" }))).toBe(253n);
  });

  test("IPv6 /64 ends at the last address", () => {
    expect(show({ subnet: "2001:db8::/64" })).toEqual({
      start: "2001:db8::1",
      end: "2001:db8::ffff:ffff:ffff:ffff",
      gateway: "2001:db8::1",
    });
  });

  test("/31 and /32 (RFC 3021) and /127, /128 (RFC 6164) use every address", () => {
    expect(show({ subnet: "10.0.0.0/31" })).toEqual({
      start: "10.0.0.0",
      end: "10.0.0.1",
      gateway: undefined,
    });
    expect(show({ subnet: "10.0.0.9/32" })).toEqual({
      start: "10.0.0.9",
      end: "10.0.0.9",
      gateway: undefined,
    });
    expect(show({ subnet: "2001:db8::/127" })).toEqual({
      start: "2001:db8::",
      end: "2001:db8::1",
      gateway: undefined,
    });
    expect(allocatableCount(buildRange({ subnet: "2001:db8::5/128" }))).toBe(1n);
  });

  test("/30 leaves exactly one address besides gateway, network and broadcast", () => {
    const r = buildRange({ subnet: "10.0.0.0/30" });
    expect(allocatableCount(r)).toBe(1n);
    expect(isAllocatable(r, parseIP("10.0.0.2"))).toBe(true);
    for (const ip of ["10.0.0.0", "10.0.0.1", "10.0.0.3"]) expect(isAllocatable(r, parseIP(ip))).toBe(false);
  });

  test("explicit start, end and gateway", () => {
    expect(
      show({
        subnet: "10.0.0.0/24",
        rangeStart: "10.0.0.100",
        rangeEnd: "10.0.0.200",
        gateway: "10.0.0.254",
      }),
    ).toEqual({ start: "10.0.0.100", end: "10.0.0.200", gateway: "10.0.0.254" });
  });
});

describe("buildRange validation", () => {
  test.each([
    [{ subnet: "10.0.0.5/24" }, "subnet", "host bits are set"],
    [{ subnet: "10.0.0.0/33" }, "subnet", "out of range"],
    [{ subnet: "10.0.0.0/24", rangeStart: "10.0.1.1" }, "rangeStart", 'is not inside subnet "10.0.0.0/24"'],
    [{ subnet: "10.0.0.0/24", rangeEnd: "10.0.0.255" }, "rangeEnd", "is the broadcast address"],
    [{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.0" }, "rangeStart", "is the network address"],
    [
      { subnet: "10.0.0.0/24", rangeStart: "10.0.0.9", rangeEnd: "10.0.0.8" },
      "rangeEnd",
      "is before rangeStart",
    ],
    [{ subnet: "10.0.0.0/24", gateway: "::1" }, "gateway", "is IPv6 but subnet"],
    [{ subnet: "10.0.0.0/24", gateway: "10.0.0.01" }, "gateway", "leading zero"],
    [{ subnet: "10.0.0.0/24", gateway: "192.0.2.1" }, "gateway", "is not inside subnet"],
    [
      { subnet: "10.0.0.0/24", rangeStart: "10.0.0.1", rangeEnd: "10.0.0.1" },
      "subnet",
      "no allocatable address",
    ],
    [{ subnet: "10.0.0.7/32", gateway: "10.0.0.7" }, "subnet", "no allocatable address"],
  ] as const)("%o → %s", (input: RangeInput, field, reason) => {
    const error = invalid(() => buildRange(input, "ranges[0][0]."));
    expect(error.field).toBe(`ranges[0][0].${field}`);
    expect(error.reason).toContain(reason);
    expect(error.message).toStartWith(`Invalid range ranges[0][0].${field} "`);
  });
});

describe("buildRangeSets", () => {
  test("dual-stack sets", () => {
    const sets = buildRangeSets([
      [{ subnet: "10.0.0.0/24" }, { subnet: "10.0.1.0/24" }],
      [{ subnet: "fd00::/64" }],
    ]);
    expect(sets.map((s) => s.map((r) => formatPrefix(r.subnet)))).toEqual([
      ["10.0.0.0/24", "10.0.1.0/24"],
      ["fd00::/64"],
    ]);
    expect(rangeSetKey(sets[0]!)).toBe("10.0.0.0/24,10.0.1.0/24");
  });

  test("rejects empty input, empty sets, mixed families and overlaps", () => {
    expect(invalid(() => buildRangeSets([])).field).toBe("ranges");
    expect(invalid(() => buildRangeSets([[{ subnet: "10.0.0.0/24" }], []])).field).toBe("ranges[1]");
    const mixed = invalid(() => buildRangeSets([[{ subnet: "10.0.0.0/24" }, { subnet: "fd00::/64" }]]));
    expect(mixed.field).toBe("ranges[0][1].subnet");
    expect(mixed.reason).toContain("one family");
    const overlap = invalid(() =>
      buildRangeSets([
        [{ subnet: "10.0.0.0/24" }],
        [{ subnet: "10.0.0.0/16", rangeStart: "10.0.0.200", rangeEnd: "10.0.1.5" }],
      ]),
    );
    expect(overlap.field).toBe("ranges[1][0]");
    expect(overlap.reason).toBe("overlaps ranges[0][0] (10.0.0.1-10.0.0.254)");
  });

  test("disjoint spans of one subnet are allowed", () => {
    const sets = buildRangeSets([
      [{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.10", rangeEnd: "10.0.0.19" }],
      [{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.20", rangeEnd: "10.0.0.29" }],
    ]);
    expect(sets.length).toBe(2);
  });
});

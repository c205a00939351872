import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { formatIP, type IPAddress, parseIP } from "../ipnet/address.ts";
import { containsIP, lastIP } from "../ipnet/prefix.ts";
import { AddressExhaustedError, RequestedAddressError } from "./errors.ts";
import { type ChosenAddress, chooseAddresses, matchHeld } from "./node-allocator.ts";
import { allocatableCount, buildRangeSets, type RangeInput, type RangeSet } from "./range-set.ts";

const key = (ip: IPAddress) => `${ip.family}/${ip.value}`;

/** A minimal in-memory store around the pure allocator, like the SQLite state does it. */
class Pool {
  readonly used = new Map<string, IPAddress>();
  readonly last = new Map<number, IPAddress>();
  constructor(readonly sets: RangeSet[]) {}

  allocate(requested: IPAddress[] = []): ChosenAddress[] {
    const chosen = chooseAddresses({
      rangeSets: this.sets,
      requested,
      isAllocated: (ip) => this.used.has(key(ip)),
      lastReserved: (i) => this.last.get(i),
    });
    for (const c of chosen) {
      this.used.set(key(c.ip), c.ip);
      this.last.set(c.setIndex, c.ip);
    }
    return chosen;
  }

  release(ip: IPAddress): void {
    this.used.delete(key(ip));
  }
}

const sets = (...input: RangeInput[][]) => buildRangeSets(input);

describe("chooseAddresses", () => {
  test("one address per set, in set order", () => {
    const pool = new Pool(sets([{ subnet: "10.0.0.0/24" }], [{ subnet: "fd00::/120" }]));
    const chosen = pool.allocate();
    expect(chosen.map((c) => [c.setIndex, formatIP(c.ip)])).toEqual([
      [0, "10.0.0.2"],
      [1, "fd00::2"],
    ]);
  });

  test("round robin resumes after the last reserved address and does not reuse a released one at once", () => {
    const pool = new Pool(sets([{ subnet: "10.0.0.0/29" }]));
    const first = pool.allocate()[0]!.ip;
    expect(formatIP(first)).toBe("10.0.0.2");
    pool.release(first);
    expect(formatIP(pool.allocate()[0]!.ip)).toBe("10.0.0.3");
    expect(pool.allocate().map((c) => formatIP(c.ip))).toEqual(["10.0.0.4"]);
  });

  test("round robin wraps across the ranges of a set", () => {
    const pool = new Pool(
      sets([
        { subnet: "10.0.0.0/24", rangeStart: "10.0.0.10", rangeEnd: "10.0.0.11" },
        { subnet: "10.0.1.0/24", rangeStart: "10.0.1.10", rangeEnd: "10.0.1.10" },
      ]),
    );
    const order = [0, 1, 2].map(() => formatIP(pool.allocate()[0]!.ip));
    expect(order).toEqual(["10.0.0.10", "10.0.0.11", "10.0.1.10"]);
    pool.release(parseIP("10.0.0.11"));
    pool.release(parseIP("10.0.1.10"));
    // last reserved is 10.0.1.10: the scan wraps to the first range and finds .11 before reusing .1.10
    expect(formatIP(pool.allocate()[0]!.ip)).toBe("10.0.0.11");
    expect(formatIP(pool.allocate()[0]!.ip)).toBe("10.0.1.10");
    expect(() => pool.allocate()).toThrow(AddressExhaustedError);
  });

  test("a stale last-reserved address outside every range restarts at the first range", () => {
    const chosen = chooseAddresses({
      rangeSets: sets([{ subnet: "10.0.0.0/24" }]),
      requested: [],
      isAllocated: () => false,
      lastReserved: () => parseIP("192.0.2.1"),
    });
    expect(formatIP(chosen[0]!.ip)).toBe("10.0.0.2");
  });

  test("exhaustion names the subnets", () => {
    const pool = new Pool(sets([{ subnet: "10.0.0.0/30" }, { subnet: "10.0.1.0/30" }]));
    pool.allocate();
    pool.allocate();
    expect(() => pool.allocate()).toThrow(
      'Cannot allocate address in "10.0.0.0/30", "10.0.1.0/30": range is exhausted',
    );
    const single = new Pool(sets([{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.5", rangeEnd: "10.0.0.5" }]));
    single.allocate();
    expect(() => single.allocate()).toThrow('Cannot allocate address in "10.0.0.0/24": range is exhausted');
  });

  test("requested addresses", () => {
    const pool = new Pool(
      sets(
        [{ subnet: "10.0.0.0/24", rangeStart: "10.0.0.10", rangeEnd: "10.0.0.20" }],
        [{ subnet: "fd00::/64" }],
      ),
    );
    const chosen = pool.allocate([parseIP("fd00::42")]);
    expect(chosen.map((c) => formatIP(c.ip))).toEqual(["10.0.0.10", "fd00::42"]);
    const reject = (ips: string[], reason: string) => {
      let caught: unknown;
      try {
        pool.allocate(ips.map(parseIP));
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(RequestedAddressError);
      expect((caught as RequestedAddressError).reason).toContain(reason);
      expect((caught as RequestedAddressError).message).toContain(`"${ips.at(-1)}"`);
    };
    reject(["fd00::42"], "is already in use");
    reject(["fd00::1"], 'is the gateway of "fd00::/64"');
    reject(["fd00::"], "is the network address");
    reject(["10.0.0.255"], "is the broadcast address");
    reject(["10.0.0.30"], "is outside the allocatable range 10.0.0.10-10.0.0.20");
    reject(["192.0.2.1"], "is not inside any configured range");
    reject(["10.0.0.11", "10.0.0.12"], 'already has the requested address "10.0.0.11"');
    // failed requests reserved nothing
    expect(pool.used.size).toBe(2);
  });

  test("a nearly full /16 is scanned with bigint arithmetic, not materialised", () => {
    const rangeSets = sets([{ subnet: "10.1.0.0/16" }]);
    const free = parseIP("10.1.0.7");
    const started = performance.now();
    const chosen = chooseAddresses({
      rangeSets,
      requested: [],
      isAllocated: (ip) => ip.value !== free.value,
      lastReserved: () => parseIP("10.1.0.9"),
    });
    expect(formatIP(chosen[0]!.ip)).toBe("10.1.0.7");
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("property: random allocate/release sequences", () => {
  function randomSets(rand: () => number): RangeSet[] {
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const v4Length = pick([24, 26, 28, 29, 30, 31, 32]);
    const base = `10.${Math.floor(rand() * 256)}`;
    const v4: RangeInput = { subnet: `${base}.0.0/${v4Length}` };
    if (v4Length <= 28 && rand() < 0.5) {
      v4.rangeStart = `${base}.0.3`;
      v4.gateway = `${base}.0.4`;
    }
    const second: RangeInput = { subnet: "192.168.7.0/29", rangeEnd: "192.168.7.4" };
    const v6: RangeInput = {
      subnet: `fd00:${Math.floor(rand() * 65536).toString(16)}::/${pick([120, 124, 126, 127])}`,
    };
    return rand() < 0.5 ? buildRangeSets([[v4, second], [v6]]) : buildRangeSets([[v4]]);
  }

  test("never a duplicate, never a reserved address, always inside start..end", () => {
    const rand = mulberry32(20240601);
    for (let round = 0; round < 300; round++) {
      const rangeSets = randomSets(rand);
      const pool = new Pool(rangeSets);
      const capacity = rangeSets.map((set) => set.reduce((n, r) => n + allocatableCount(r), 0n));
      const live: ChosenAddress[][] = [];
      for (let step = 0; step < 60; step++) {
        if (live.length > 0 && rand() < 0.35) {
          const [gone] = live.splice(Math.floor(rand() * live.length), 1);
          for (const c of gone!) pool.release(c.ip);
          continue;
        }
        const inUse = BigInt(live.length);
        if (capacity.some((c) => inUse >= c)) {
          expect(() => pool.allocate()).toThrow(AddressExhaustedError);
          continue;
        }
        const chosen = pool.allocate();
        expect(chosen.map((c) => c.setIndex)).toEqual(rangeSets.map((_, i) => i));
        for (const c of chosen) {
          const r = c.range;
          expect(rangeSets[c.setIndex]).toContain(r);
          expect(c.ip.value >= r.start.value && c.ip.value <= r.end.value).toBe(true);
          expect(containsIP(r.subnet, c.ip)).toBe(true);
          if (r.gateway) expect(c.ip.value).not.toBe(r.gateway.value);
          const p2p = r.subnet.length >= (r.subnet.family === 4 ? 31 : 127);
          if (!p2p) expect(c.ip.value).not.toBe(r.subnet.network.value);
          if (!p2p && r.subnet.family === 4) expect(c.ip.value).not.toBe(lastIP(r.subnet).value);
        }
        live.push(chosen);
        const all = live.flat().map((c) => key(c.ip));
        expect(new Set(all).size).toBe(all.length);
        expect(pool.used.size).toBe(all.length);
      }
    }
  });

  test("every allocatable address is reachable before exhaustion", () => {
    const rangeSets = sets([{ subnet: "10.9.0.0/27", gateway: "10.9.0.17" }]);
    const pool = new Pool(rangeSets);
    const got = new Set<string>();
    for (let i = 0; i < 29; i++) got.add(formatIP(pool.allocate()[0]!.ip));
    expect(got.size).toBe(29);
    expect(got.has("10.9.0.17")).toBe(false);
    expect(got.has("10.9.0.1")).toBe(true);
    expect(() => pool.allocate()).toThrow(AddressExhaustedError);
  });
});

describe("matchHeld", () => {
  const dual = sets([{ subnet: "10.0.0.0/24" }], [{ subnet: "fd00::/64" }]);
  const held = (...xs: string[]) => xs.map(parseIP);

  test("re-describes held addresses per set, in set order", () => {
    const matched = matchHeld(held("fd00::9", "10.0.0.9"), dual, []);
    expect(matched?.map((c) => [c.setIndex, formatIP(c.ip)])).toEqual([
      [0, "10.0.0.9"],
      [1, "fd00::9"],
    ]);
    expect(matched?.[0]?.range).toBe(dual[0]![0]!);
  });

  test.each([
    ["nothing held", [], []],
    ["a set without an address", ["10.0.0.9"], []],
    ["two addresses in one set", ["10.0.0.9", "10.0.0.10"], []],
    ["an address outside every range", ["10.0.1.9", "fd00::9"], []],
    ["an address that became the gateway", ["10.0.0.1", "fd00::9"], []],
    ["a different requested address", ["10.0.0.9", "fd00::9"], ["10.0.0.10"]],
  ])("no match: %s", (_, have, want) => {
    expect(matchHeld(held(...have), dual, held(...want))).toBeUndefined();
  });

  test("a matching requested address keeps the holding", () => {
    expect(matchHeld(held("10.0.0.9", "fd00::9"), dual, held("fd00::9"))).toBeDefined();
  });
});

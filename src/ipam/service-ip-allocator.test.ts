import { describe, expect, test } from "bun:test";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { formatIP, type IPAddress, ipFromBigint, parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";
import { formatRange, type IPRange, rangeContains } from "../ipnet/range.ts";
import { ServiceIPExhaustedError, ServiceIPUnavailableError } from "./cluster-errors.ts";
import {
  allocateServiceIP,
  serviceIPBands,
  serviceIPCapacity,
  serviceIPProblem,
  staticBandSize,
} from "./service-ip-allocator.ts";

const p = (text: string) => parsePrefix(text);
const ip = (text: string) => parseIP(text);
const band = (r: IPRange | undefined) => (r === undefined ? undefined : formatRange(r));

class Pool {
  readonly used = new Set<string>();
  constructor(readonly cidr = p("10.96.0.0/24")) {}
  allocate(requested?: IPAddress, random?: () => number): IPAddress {
    const chosen = allocateServiceIP({
      cidr: this.cidr,
      ...(requested ? { requested } : {}),
      ...(random ? { random } : {}),
      isAllocated: (a) => this.used.has(formatIP(a)),
    });
    expect(this.used.has(formatIP(chosen))).toBe(false);
    this.used.add(formatIP(chosen));
    return chosen;
  }
}

describe("static band (KEP-3070: min(max(16, size/16), 256))", () => {
  test("sizes from the Kubernetes documentation and the edges", () => {
    expect(staticBandSize(p("10.96.0.0/28"))).toBe(0n); // 16 addresses: no band
    expect(staticBandSize(p("10.96.0.0/27"))).toBe(16n);
    expect(staticBandSize(p("10.96.0.0/24"))).toBe(16n);
    expect(staticBandSize(p("10.96.0.0/21"))).toBe(128n);
    expect(staticBandSize(p("10.96.0.0/20"))).toBe(256n);
    expect(staticBandSize(p("10.96.0.0/16"))).toBe(256n);
    expect(staticBandSize(p("10.96.0.0/12"))).toBe(256n);
    expect(staticBandSize(p("fd00::/108"))).toBe(256n);
    expect(staticBandSize(p("fd00::/64"))).toBe(256n);
  });

  test("bands of the documented examples", () => {
    const b24 = serviceIPBands(p("10.96.0.0/24"));
    expect(band(b24.staticBand)).toBe("10.96.0.1-10.96.0.16");
    expect(band(b24.dynamicBand)).toBe("10.96.0.17-10.96.0.254");
    expect(formatIP(b24.kubernetesIP)).toBe("10.96.0.1");
    expect(band(serviceIPBands(p("10.96.0.0/20")).staticBand)).toBe("10.96.0.1-10.96.1.0");
    expect(band(serviceIPBands(p("10.96.0.0/20")).dynamicBand)).toBe("10.96.1.1-10.96.15.254");
    const v6 = serviceIPBands(p("fd00::/112"));
    expect(band(v6.staticBand)).toBe("fd00::1-fd00::100");
    expect(band(v6.dynamicBand)).toBe("fd00::101-fd00::ffff"); // no broadcast in IPv6
    const tiny = serviceIPBands(p("10.96.0.0/29"));
    expect(tiny.staticBand).toBeUndefined();
    expect(band(tiny.dynamicBand)).toBe("10.96.0.1-10.96.0.6");
  });

  test("capacity excludes the network address and the IPv4 broadcast", () => {
    expect(serviceIPCapacity(p("10.96.0.0/12"))).toBe(1_048_574n);
    expect(serviceIPCapacity(p("fd00::/112"))).toBe(65_535n);
  });
});

describe("allocateServiceIP", () => {
  test("automatic allocations start in the dynamic band", () => {
    const pool = new Pool();
    expect(formatIP(pool.allocate())).toBe("10.96.0.17");
    expect(formatIP(pool.allocate())).toBe("10.96.0.18");
  });

  test("requested IPs anywhere in the range, including the kubernetes IP and the static band", () => {
    const pool = new Pool();
    expect(formatIP(pool.allocate(ip("10.96.0.1")))).toBe("10.96.0.1");
    expect(formatIP(pool.allocate(ip("10.96.0.10")))).toBe("10.96.0.10");
    expect(formatIP(pool.allocate(ip("10.96.0.200")))).toBe("10.96.0.200");
    expect(formatIP(pool.allocate(ip("10.96.0.254")))).toBe("10.96.0.254");
  });

  test("unavailable requests say why", () => {
    const pool = new Pool();
    pool.allocate(ip("10.96.0.10"));
    const cases: [string, string][] = [
      ["10.96.0.10", 'Cannot allocate requested ClusterIP "10.96.0.10": is already allocated'],
      ["10.96.0.0", 'is the network address of "10.96.0.0/24"'],
      ["10.96.0.255", 'is the broadcast address of "10.96.0.0/24"'],
      ["10.97.0.1", 'is not inside service CIDR "10.96.0.0/24"'],
      ["fd00::1", 'is IPv6 but service CIDR "10.96.0.0/24" is IPv4'],
    ];
    for (const [text, message] of cases) {
      expect(() => pool.allocate(ip(text))).toThrow(ServiceIPUnavailableError);
      expect(() => pool.allocate(ip(text))).toThrow(message);
    }
    expect(serviceIPProblem(p("fd00::/112"), ip("fd00::ffff"))).toBeUndefined();
  });

  test("falls back to the static band, from its top, only when the dynamic band is full; never the kubernetes IP", () => {
    const pool = new Pool();
    const auto: string[] = [];
    for (let i = 0; i < 238; i++) auto.push(formatIP(pool.allocate()));
    const staticBand = serviceIPBands(pool.cidr).staticBand!;
    expect(auto.every((a) => !rangeContains(staticBand, ip(a)))).toBe(true);
    expect(formatIP(pool.allocate())).toBe("10.96.0.16");
    pool.allocate(ip("10.96.0.10"));
    const rest: string[] = [];
    for (let i = 0; i < 13; i++) rest.push(formatIP(pool.allocate()));
    expect(rest).not.toContain("10.96.0.1");
    expect(rest).not.toContain("10.96.0.10");
    expect(() => pool.allocate()).toThrow(ServiceIPExhaustedError);
    expect(() => pool.allocate()).toThrow(
      'Cannot allocate a ClusterIP in "10.96.0.0/24": range is exhausted',
    );
    expect(formatIP(pool.allocate(ip("10.96.0.1")))).toBe("10.96.0.1");
  });

  test("a random start spreads allocations over the dynamic band", () => {
    const pool = new Pool(p("10.96.0.0/16"));
    const random = mulberry32(3);
    const chosen = Array.from({ length: 50 }, () => pool.allocate(undefined, random).value);
    const bands = serviceIPBands(pool.cidr);
    expect(chosen.every((v) => rangeContains(bands.dynamicBand!, ipFromBigint(4, v)))).toBe(true);
    const sorted = [...chosen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const spread = sorted[sorted.length - 1]! - sorted[0]!;
    expect(spread).toBeGreaterThan(10_000n);
    // A fraction at the very top still lands inside the band.
    expect(
      rangeContains(
        bands.dynamicBand!,
        pool.allocate(undefined, () => 0.9999999999999999),
      ),
    ).toBe(true);
  });

  test("IPv6 /64: random starts reach the whole band", () => {
    const pool = new Pool(p("fd00::/64"));
    const high = pool.allocate(undefined, () => 0.75);
    expect(high.value).toBeGreaterThanOrEqual(pool.cidr.network.value + (3n << 62n));
    expect(formatIP(pool.allocate())).toBe("fd00::101");
  });
});

describe("property: random allocate/release sequences", () => {
  test("never the same IP twice, automatic ones in the dynamic band while it has room", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const random = mulberry32(seed);
      const cidr = p(seed % 2 === 0 ? "10.96.0.0/26" : "fd00::/122");
      const bands = serviceIPBands(cidr);
      const used = new Map<bigint, "auto" | "static">();
      const family = cidr.family;
      const usable = bands.usable;
      const dynamicFree = () => {
        for (let v = bands.dynamicBand!.start.value; v <= bands.dynamicBand!.end.value; v++) {
          if (!used.has(v)) return true;
        }
        return false;
      };
      for (let step = 0; step < 2000; step++) {
        const roll = random();
        const held = [...used.keys()];
        if (roll < 0.35 && held.length > 0) {
          used.delete(held[Math.floor(random() * held.length)]!);
          continue;
        }
        const isAllocated = (a: IPAddress) => used.has(a.value);
        if (roll < 0.5) {
          const offset = BigInt(Math.floor(random() * Number(usable.end.value - usable.start.value + 1n)));
          const want = ipFromBigint(family, usable.start.value + offset);
          if (used.has(want.value)) {
            expect(() => allocateServiceIP({ cidr, requested: want, isAllocated })).toThrow(
              ServiceIPUnavailableError,
            );
          } else {
            expect(allocateServiceIP({ cidr, requested: want, isAllocated })).toEqual(want);
            used.set(want.value, "static");
          }
          continue;
        }
        const hadDynamicRoom = dynamicFree();
        const options = random() < 0.5 ? { random } : {};
        let got: IPAddress;
        try {
          got = allocateServiceIP({ cidr, isAllocated, ...options });
        } catch (error) {
          expect(error).toBeInstanceOf(ServiceIPExhaustedError);
          // Exhausted only when everything but the kubernetes IP is taken.
          for (let v = usable.start.value + 1n; v <= usable.end.value; v++) expect(used.has(v)).toBe(true);
          continue;
        }
        expect(used.has(got.value)).toBe(false);
        expect(rangeContains(usable, got)).toBe(true);
        expect(got.value).not.toBe(bands.kubernetesIP.value);
        expect(rangeContains(bands.dynamicBand!, got)).toBe(hadDynamicRoom);
        used.set(got.value, "auto");
      }
    }
  });
});

import { describe, expect, test } from "bun:test";
import { benchZoneEntries, zoneRecords } from "./bench-zone.ts";
import { MIX, QUERY_KINDS, QueryMixError, queryFileText, queryMix } from "./query-mix.ts";

describe("the query mix", () => {
  const owned = [...zoneRecords(benchZoneEntries(50, 3))];
  const queries = queryMix(owned, 20_000, 7);

  test("is the same for the same seed and differs for another", () => {
    expect(queryMix(owned, 100, 7)).toEqual(queries.slice(0, 100));
    expect(queryMix(owned, 100, 8)).not.toEqual(queries.slice(0, 100));
  });

  test("draws each kind about as often as its share", () => {
    for (const kind of QUERY_KINDS) {
      const share = (100 * queries.filter((q) => q.kind === kind).length) / queries.length;
      expect(Math.abs(share - MIX[kind])).toBeLessThan(1.5);
    }
  });

  test("asks only names the zone has, except the NXDOMAIN ones, which it lacks", () => {
    const types = new Map(owned.map((o) => [o.name, new Set(o.records.map((r) => r.type))]));
    for (const q of queries) {
      if (q.kind === "NXDOMAIN") {
        expect(types.has(q.name)).toBe(false);
        expect(q.rcode).toBe("NXDOMAIN");
      } else {
        expect(types.get(q.name)?.has(q.type)).toBe(true);
        expect(q.rcode).toBe("NOERROR");
      }
      if (q.kind === "pod A") expect(q.name).toEndWith(".bench.pod.cluster.local");
      if (q.kind === "service A") expect(q.name).toEndWith(".bench.svc.cluster.local");
    }
  });

  test("is written as dnsperf's NAME TYPE lines", () => {
    const text = queryFileText(queries.slice(0, 3));
    expect(text.split("\n")).toHaveLength(4);
    expect(text).toMatch(/^\S+ (A|SRV|PTR)\n/);
  });

  test("refuses an empty draw and a zone without some kind of name", () => {
    expect(() => queryMix(owned, 0, 1)).toThrow(QueryMixError);
    expect(() => queryMix([], 10, 1)).toThrow(QueryMixError);
  });
});

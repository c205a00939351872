import { describe, expect, test } from "bun:test";
import type { Answer } from "dns-packet";
import { RCODE } from "./dns-message.ts";
import { cacheKey, ResponseCache } from "./response-cache.ts";

const a = (name: string, ttl: number, ip = "192.0.2.1"): Answer => ({
  type: "A",
  name,
  ttl,
  class: "IN",
  data: ip,
});
const soa = (ttl: number, minimum: number): Answer => ({
  type: "SOA",
  name: "example.test",
  ttl,
  class: "IN",
  data: {
    mname: "ns.example.test",
    rname: "host.example.test",
    serial: 1,
    refresh: 1,
    retry: 1,
    expire: 1,
    minimum,
  },
});
const ttls = (answers: Answer[] | undefined) => answers?.map((x) => (x.type === "OPT" ? -1 : x.ttl));

describe("the forwarder's cache", () => {
  test("keys ignore case and tell types, classes and the DO bit apart", () => {
    expect(cacheKey({ name: "WWW.Example.test", type: "A" }, false)).toBe(
      cacheKey({ name: "www.example.test.", type: "A", class: "IN" }, false),
    );
    expect(cacheKey({ name: "www.example.test", type: "A" }, false)).not.toBe(
      cacheKey({ name: "www.example.test", type: "AAAA" }, false),
    );
    expect(cacheKey({ name: "www.example.test", type: "A" }, false)).not.toBe(
      cacheKey({ name: "www.example.test", type: "A" }, true),
    );
  });

  test("a reply lives for its smallest TTL and is served with TTLs counted down", () => {
    const cache = new ResponseCache();
    expect(
      cache.put(
        "k",
        { rcode: RCODE.NOERROR, answers: [a("x", 60), a("x", 30, "192.0.2.2")], authorities: [] },
        1000,
      ),
    ).toBe(30);
    expect(ttls(cache.get("k", 1000)?.answers)).toEqual([30, 30]);
    expect(ttls(cache.get("k", 11_500)?.answers)).toEqual([20, 20]);
    expect(cache.get("k", 31_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test("negative replies live min(SOA TTL, SOA minimum), without an SOA not at all", () => {
    const cache = new ResponseCache();
    expect(cache.put("nx", { rcode: RCODE.NXDOMAIN, answers: [], authorities: [soa(3600, 10)] }, 0)).toBe(10);
    expect(cache.get("nx", 9_999)?.rcode).toBe(RCODE.NXDOMAIN);
    expect(cache.get("nx", 10_000)).toBeUndefined();
    expect(cache.put("nodata", { rcode: RCODE.NOERROR, answers: [], authorities: [soa(7, 60)] }, 0)).toBe(7);
    expect(cache.put("bare", { rcode: RCODE.NXDOMAIN, answers: [], authorities: [] }, 0)).toBe(0);
    expect(cache.put("fail", { rcode: RCODE.SERVFAIL, answers: [], authorities: [soa(60, 60)] }, 0)).toBe(0);
    expect(cache.put("zero", { rcode: RCODE.NOERROR, answers: [a("x", 0)], authorities: [] }, 0)).toBe(0);
  });

  test("it is bounded and forgets the least recently used entry first", () => {
    const cache = new ResponseCache({ maxEntries: 2 });
    const put = (k: string) => cache.put(k, { rcode: 0, answers: [a(k, 60)], authorities: [] }, 0);
    put("one");
    put("two");
    cache.get("one", 0);
    put("three");
    expect([
      cache.get("one", 0) !== undefined,
      cache.get("two", 0) !== undefined,
      cache.get("three", 0) !== undefined,
    ]).toEqual([true, false, true]);
    expect(cache.size).toBe(2);
  });

  test("it is bounded in bytes: a reply over the entry limit is not kept, the total stays under the bound", () => {
    const cache = new ResponseCache({ maxBytes: 2048, maxEntryBytes: 1024 });
    const txt = (name: string, size: number): Answer => ({
      type: "TXT",
      name,
      ttl: 60,
      class: "IN",
      data: Array.from({ length: Math.ceil(size / 200) }, () => "x".repeat(200)),
    });
    expect(cache.put("big", { rcode: 0, answers: [txt("big", 2000)], authorities: [] }, 0)).toBe(0);
    expect(cache.get("big", 0)).toBeUndefined();
    for (let i = 0; i < 20; i++)
      expect(cache.put(`k${i}`, { rcode: 0, answers: [txt(`k${i}`, 600)], authorities: [] }, 0)).toBe(60);
    expect(cache.bytes).toBeGreaterThan(1024);
    expect(cache.bytes).toBeLessThanOrEqual(2048);
    // The most recent replies stay; the oldest went first.
    expect([cache.get("k19", 0) !== undefined, cache.get("k0", 0) !== undefined]).toEqual([true, false]);
    // Expiry and replacement give their bytes back.
    cache.put("k19", { rcode: 0, answers: [a("k19", 60)], authorities: [] }, 0);
    const before = cache.bytes;
    expect(cache.get("k19", 61_000)).toBeUndefined();
    expect(cache.bytes).toBeLessThan(before);
  });
});

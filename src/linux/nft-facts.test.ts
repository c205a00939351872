/**
 * parseNftTableJson over real `nft -j list table` output of the proxy's golden rulesets loaded into
 * a scratch netns (golden/nft-podnet-*.json); the rules must read exactly as `nft list table`
 * printed them (golden/nft-podnet-*.nft).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  InvalidNftTableError,
  parseNftTableJson,
  parseNftTableText,
  podnetTablesOf,
  readNftTable,
} from "./nft-facts.ts";

const golden = (name: string): string => readFileSync(join(import.meta.dir, "golden", name), "utf8");

describe("parseNftTableJson", () => {
  for (const name of ["nft-podnet-affinity", "nft-podnet-ipv6"]) {
    test(`${name}: every chain's rules read as nft printed them`, () => {
      const fromJson = parseNftTableJson(golden(`${name}.json`)).chains;
      const fromText = parseNftTableText(golden(`${name}.nft`));
      expect(fromJson.length).toBeGreaterThan(5);
      expect(fromJson).toEqual(fromText);
    });
  }

  test("sets and maps with their elements as components; map values and verdicts", () => {
    const { sets } = parseNftTableJson(golden("nft-podnet-affinity.json"));
    const byName = new Map(sets.map((s) => [s.name, s]));
    expect(byName.get("cluster-ips")?.elements).toEqual([{ key: ["10.96.0.40"] }]);
    expect(byName.get("no-masquerade")?.elements).toEqual([
      { key: ["10.96.0.0/12"] },
      { key: ["10.244.0.0/16"] },
    ]);
    expect(byName.get("hairpin")?.elements).toEqual([
      { key: ["10.244.1.5", "10.244.1.5"] },
      { key: ["10.244.2.7", "10.244.2.7"] },
    ]);
    expect(byName.get("service-ips")?.elements).toEqual([
      { key: ["10.96.0.40", "tcp", "80"], value: ["goto svc-0chgd0vt-default/sticky/tcp/80"] },
    ]);
    expect(byName.get("service-nodeports")?.elements).toEqual([]);
  });

  test("endpoint maps of the IPv6 table: key and value components", () => {
    const { sets } = parseNftTableJson(golden("nft-podnet-ipv6.json"));
    const withElements = sets.filter((s) => s.elements.length > 0).map((s) => s.name);
    expect(withElements).toContain("cluster-ips");
    const svc = sets.find((s) => s.name === "service-ips");
    expect(svc?.elements[0]?.key[0]).toMatch(/:/);
  });

  test("an empty document has nothing; a foreign one is an error", () => {
    expect(parseNftTableJson("")).toEqual({ sets: [], chains: [] });
    expect(() => parseNftTableJson("[]")).toThrow('no "nftables" array');
  });
});

describe("podnetTablesOf", () => {
  test("keeps podnet and podnet-trace-* tables of any family, as FAMILY NAME", () => {
    const listing =
      '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "ctx", "handle": 1}}, {"table": {"family": "inet", "name": "podnet-trace-abcdefgh", "handle": 13}}, {"table": {"family": "ip", "name": "natx", "handle": 14}}, {"table": {"family": "ip", "name": "podnet", "handle": 16}}, {"table": {"family": "ip6", "name": "podnet", "handle": 18}}]}';
    expect(podnetTablesOf(listing)).toEqual(["inet podnet-trace-abcdefgh", "ip podnet", "ip6 podnet"]);
  });
});

describe("podnetTablesOf and the proxy's two names", () => {
  test("both names of the proxy table are podnet's, another podnet-… name is not", () => {
    const tables =
      '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "ip", "name": "podnet", "handle": 1}}, {"table": {"family": "ip", "name": "podnet-b", "handle": 2}}, {"table": {"family": "ip", "name": "podnet-c", "handle": 3}}, {"table": {"family": "ip6", "name": "podnet-b", "handle": 4}}]}';
    expect(podnetTablesOf(tables)).toEqual(["ip podnet", "ip podnet-b", "ip6 podnet-b"]);
  });
});

describe("readNftTable input checks", () => {
  test("refuses a table name nft would read as something else", async () => {
    await expect(readNftTable("ip", "podnet; flush ruleset")).rejects.toThrow(InvalidNftTableError);
  });
});

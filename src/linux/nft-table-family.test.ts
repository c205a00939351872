import { describe, expect, test } from "bun:test";
import type { NftSetFact } from "./kernel-facts.ts";
import { isOfTable, nftFamilyWord, proxyTableName } from "./nft-table-family.ts";

describe("nft-table-family", () => {
  test("names the family word and the proxy table of each family", () => {
    expect([nftFamilyWord(4), nftFamilyWord(6)]).toEqual(["ip", "ip6"]);
    expect([proxyTableName(4), proxyTableName(6)]).toEqual(["ip podnet", "ip6 podnet"]);
  });

  test("an untagged fact is of ip podnet, one tagged ip6 of ip6 podnet", () => {
    const v4: NftSetFact = { name: "service-ips", elements: [] };
    const v6: NftSetFact = { name: "service-ips", family: "ip6", elements: [] };
    expect([isOfTable(v4, 4), isOfTable(v4, 6)]).toEqual([true, false]);
    expect([isOfTable(v6, 4), isOfTable(v6, 6)]).toEqual([false, true]);
  });
});

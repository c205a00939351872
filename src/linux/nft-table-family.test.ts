import { describe, expect, test } from "bun:test";
import type { NftSetFact } from "./kernel-facts.ts";
import {
  isOfTable,
  nftFamilyWord,
  proxyTableName,
  proxyTableOf,
  reportedProxyTable,
} from "./nft-table-family.ts";

describe("nft-table-family", () => {
  test("names the family word and the proxy table of each family", () => {
    expect([nftFamilyWord(4), nftFamilyWord(6)]).toEqual(["ip", "ip6"]);
    expect([proxyTableName(4), proxyTableName(6)]).toEqual(["ip podnet", "ip6 podnet"]);
    expect(proxyTableName(6, "podnet-b")).toBe("ip6 podnet-b");
  });

  test("the live table a node reports: its liveTables; without them (an older agent) podnet when listed", () => {
    const swapped = {
      tables: ["ip podnet", "ip podnet-b", "ip6 podnet"],
      liveTables: ["ip podnet-b", "ip6 podnet"],
    };
    expect([reportedProxyTable(swapped, 4), reportedProxyTable(swapped, 6)]).toEqual([
      "ip podnet-b",
      "ip6 podnet",
    ]);
    expect(proxyTableOf(swapped, 4)).toBe("ip podnet-b");
    const v4Only = { tables: ["ip podnet-b"], liveTables: ["ip podnet-b"] };
    expect(reportedProxyTable(v4Only, 6)).toBeUndefined();
    expect(proxyTableOf(v4Only, 6)).toBe("ip6 podnet");
    const older = { tables: ["ip podnet", "ip6 podnet"] };
    expect([reportedProxyTable(older, 4), reportedProxyTable(older, 6)]).toEqual(["ip podnet", "ip6 podnet"]);
    expect(reportedProxyTable({ tables: [] }, 4)).toBeUndefined();
    // Only the proxy's names count, whatever else a list holds.
    expect(reportedProxyTable({ tables: [], liveTables: ["ip other", "ip6 podnet-b"] }, 4)).toBeUndefined();
  });

  test("an untagged fact is of the IPv4 table, one tagged ip6 of the IPv6 table", () => {
    const v4: NftSetFact = { name: "service-ips", elements: [] };
    const v6: NftSetFact = { name: "service-ips", family: "ip6", elements: [] };
    expect([isOfTable(v4, 4), isOfTable(v4, 6)]).toEqual([true, false]);
    expect([isOfTable(v6, 4), isOfTable(v6, 6)]).toEqual([false, true]);
  });
});

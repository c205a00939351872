import { describe, expect, test } from "bun:test";
import type { NftSetFact } from "./kernel-facts.ts";
import {
  isLiveTableText,
  isOfTable,
  nftFamilyWord,
  proxyTableName,
  proxyTableOf,
  reportedProxyTable,
  unhookedProxyTables,
  unhookedTablesText,
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

  test("a live-table text is ip or ip6, one space, one of the proxy's two names", () => {
    for (const ok of ["ip podnet", "ip podnet-b", "ip6 podnet", "ip6 podnet-b"])
      expect(isLiveTableText(ok)).toBe(true);
    for (const bad of [
      "inet podnet",
      "ip podnet-c",
      "ip  podnet",
      "ip podnet ",
      " ip podnet",
      "ip podnet; flush ruleset",
      "ip6 podnet-trace-abcd1234",
      "ip\tpodnet",
      "podnet",
      "",
    ])
      expect([bad, isLiveTableText(bad)]).toEqual([bad, false]);
  });

  test("tables a node lists but does not name live are unhooked; an older agent's are not", () => {
    const cut = {
      tables: ["ip podnet", "ip6 podnet", "ip6 podnet-b", "inet podnet-trace-abcd1234"],
      liveTables: ["ip6 podnet-b"],
    };
    expect(unhookedProxyTables(cut, 4)).toEqual(["ip podnet"]);
    expect(unhookedProxyTables(cut, 6)).toEqual(["ip6 podnet"]);
    expect(reportedProxyTable(cut, 4)).toBeUndefined();
    expect(unhookedProxyTables({ tables: ["ip podnet"] }, 4)).toEqual([]);
    expect(unhookedProxyTables({ tables: ["ip podnet-b"], liveTables: ["ip podnet-b"] }, 4)).toEqual([]);
    expect(unhookedTablesText(["ip podnet"])).toBe(
      "ip podnet exists but has no base chains (a full sync was cut short, or is still building it; the agent replaces it at its next sync)",
    );
    expect(unhookedTablesText(["ip podnet", "ip podnet-b"])).toStartWith(
      "ip podnet and ip podnet-b exist but have no base chains",
    );
  });

  test("an untagged fact is of the IPv4 table, one tagged ip6 of the IPv6 table", () => {
    const v4: NftSetFact = { name: "service-ips", elements: [] };
    const v6: NftSetFact = { name: "service-ips", family: "ip6", elements: [] };
    expect([isOfTable(v4, 4), isOfTable(v4, 6)]).toEqual([true, false]);
    expect([isOfTable(v6, 4), isOfTable(v6, 6)]).toEqual([false, true]);
  });
});

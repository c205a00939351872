/**
 * parseNftTableJson over real `nft -j list table` output of the proxy's golden rulesets loaded into
 * a scratch netns (golden/nft-podnet-*.json); the rules must read exactly as `nft list table`
 * printed them (golden/nft-podnet-*.nft).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tablesInChainList } from "./nft-chain-list.ts";
import {
  InvalidNftTableError,
  type NftAnswer,
  ProxyTableGoneError,
  parseNftTableJson,
  parseNftTableText,
  podnetTablesOf,
  proxyTableFacts,
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

/** `nft list chains` as nft 1.0.6 prints it for these tables ("" for none; with a hook when hooked). */
function chainList(tables: readonly (readonly [string, boolean])[]): string {
  return tables
    .map(([t, hooked]) =>
      hooked
        ? `table ${t} {\n\tchain nat-prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t}\n}\n`
        : `table ${t} {\n\tchain services {\n\t}\n}\n`,
    )
    .join("");
}

describe("podnetTablesOf", () => {
  test("keeps podnet, podnet-b and podnet-trace-* tables of any family, as FAMILY NAME, also without chains", () => {
    const listed = tablesInChainList(
      `${chainList([
        ["inet ctx", true],
        ["inet podnet-trace-abcdefgh", true],
        ["ip natx", false],
        ["ip podnet", true],
        ["ip podnet-c", true],
      ])}table ip podnet-b {\n}\ntable ip6 podnet { # progname podnet\n}\n`,
    );
    expect(podnetTablesOf(listed)).toEqual([
      "inet podnet-trace-abcdefgh",
      "ip podnet",
      "ip podnet-b",
      "ip6 podnet",
    ]);
  });
});

/** An nft stand-in: answers `list chains` from `listings` in turn, `-j list table` from `tables`. */
function fakeNft(listings: string[], tables: Map<string, string>) {
  const calls: string[] = [];
  const nft: NftAnswer = async (args) => {
    calls.push(args.join(" "));
    if (args.join(" ") === "list chains") return { code: 0, stdout: listings.shift() ?? "", stderr: "" };
    const json = tables.get(args.slice(3).join(" "));
    return json === undefined
      ? { code: 1, stdout: "", stderr: "Error: No such file or directory\nlist table ip podnet\n" }
      : { code: 0, stdout: json, stderr: "" };
  };
  return { nft, calls };
}

describe("proxyTableFacts: the live table is the hooked one, found again once after a swap", () => {
  const json = golden("nft-podnet-affinity.json");
  const parsed = parseNftTableJson(json);

  test("podnet-b hooked beside a half-built podnet: podnet-b's contents, both tables listed", async () => {
    const listing = chainList([
      ["ip podnet", false],
      ["ip podnet-b", true],
      ["ip6 podnet", true],
    ]);
    const { nft, calls } = fakeNft([listing], new Map([["ip podnet-b", json]]));
    expect(await proxyTableFacts("ip", nft)).toEqual({
      tables: ["ip podnet", "ip podnet-b", "ip6 podnet"],
      liveTables: ["ip podnet-b"],
      ...parsed,
    });
    expect(calls).toEqual(["list chains", "-j list table ip podnet-b"]);
  });

  test("a table without base chains is listed, not live, and not read", async () => {
    const { nft, calls } = fakeNft([chainList([["ip podnet", false]])], new Map([["ip podnet", json]]));
    expect(await proxyTableFacts("ip", nft)).toEqual({
      tables: ["ip podnet"],
      liveTables: [],
      sets: [],
      chains: [],
    });
    // Another family's hooked table is not this family's.
    const other = fakeNft([chainList([["ip6 podnet", true]])], new Map([["ip podnet", json]]));
    expect((await proxyTableFacts("ip", other.nft)).liveTables).toEqual([]);
    expect(calls).toEqual(["list chains"]);
  });

  test("swapped away between the listing and the read: found again under the other name", async () => {
    const { nft, calls } = fakeNft(
      [chainList([["ip podnet", true]]), chainList([["ip podnet-b", true]])],
      new Map([["ip podnet-b", json]]),
    );
    const facts = await proxyTableFacts("ip", nft);
    expect([facts.tables, facts.liveTables, facts.sets]).toEqual([
      ["ip podnet-b"],
      ["ip podnet-b"],
      parsed.sets,
    ]);
    expect(calls).toEqual([
      "list chains",
      "-j list table ip podnet",
      "list chains",
      "-j list table ip podnet-b",
    ]);
  });

  test("gone twice: a named error, not facts listing a table they call missing", async () => {
    const { nft } = fakeNft(
      [chainList([["ip podnet", true]]), chainList([["ip podnet-b", true]])],
      new Map(),
    );
    await expect(proxyTableFacts("ip", nft)).rejects.toThrow(ProxyTableGoneError);
    const again = fakeNft([chainList([["ip podnet", true]]), chainList([["ip podnet-b", true]])], new Map());
    await expect(proxyTableFacts("ip", again.nft)).rejects.toThrow("Cannot read nft table ip podnet-b");
  });

  test("nft failing otherwise is an error naming the command", async () => {
    const nft: NftAnswer = async () => ({ code: 1, stdout: "", stderr: "Error: Operation not permitted" });
    await expect(proxyTableFacts("ip", nft)).rejects.toThrow(/nft list chains.*Operation not permitted/);
  });
});

describe("readNftTable input checks", () => {
  test("refuses a table name nft would read as something else", async () => {
    await expect(readNftTable("ip", "podnet; flush ruleset")).rejects.toThrow(InvalidNftTableError);
  });
});

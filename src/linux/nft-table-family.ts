/**
 * podnet's proxy keeps one nft table per address family, as kube-proxy keeps one proxier per
 * family: `ip podnet` for IPv4 and `ip6 podnet` for IPv6 (proxy/nft-names.ts names what is inside),
 * each of which a full sync replaces by a table under the other of two names (PROXY_TABLE_NAMES),
 * so the live table may be `ip podnet-b`. The agents report the facts of the live IPv6 table
 * tagged `family: "ip6"` and those of the live IPv4 table untagged (kernel-facts.ts
 * NftTableFamily), so an older reader still reads the IPv4 table, and name the live tables in
 * NftFacts.liveTables: only a table with base chains is live (a table without them sees no
 * packet); one listed in NftFacts.tables but not named live is reported as such. Pure.
 */
import type { Family } from "../ipnet/address.ts";
import type { NftFacts, NftTableFamily } from "./kernel-facts.ts";

/**
 * The two names the proxy's table of a family alternates between. A full sync builds the new
 * table under the name not in use, without base chains (inert), fills its sets over netlink, then
 * one nft transaction deletes the old table and gives the new one its base chains: an atomic
 * swap (proxy/table-swap.ts). The live table is the one with base chains; the other name, when
 * present, is a table being built (or one a stopped agent left half-built).
 */
export const PROXY_TABLE_NAMES = ["podnet", "podnet-b"] as const;
export type ProxyTableName = (typeof PROXY_TABLE_NAMES)[number];

/** The nft family word of an address family: "ip" or "ip6" (`nft list map ip6 podnet …`). */
export function nftFamilyWord(family: Family): "ip" | "ip6" {
  return family === 6 ? "ip6" : "ip";
}

/**
 * The proxy's table of a family as nft names it: "ip podnet" or "ip6 podnet" (the first name,
 * what a node without the table is said to lack), or under `name` ("ip podnet-b").
 */
export function proxyTableName(family: Family, name: ProxyTableName = PROXY_TABLE_NAMES[0]): string {
  return `${nftFamilyWord(family)} ${name}`;
}

/** Whether `name` is one of the proxy table's names (not a tracing table, not another's). */
export function isProxyTableName(name: string): name is ProxyTableName {
  return (PROXY_TABLE_NAMES as readonly string[]).includes(name);
}

/** A table as NftFacts.liveTables names it: "ip podnet-b". */
const LIVE_TABLE = /^(ip6?) (\S+)$/;

/** The family word and name of a live-table text ("ip6 podnet-b"), or undefined when it is not one. */
function liveTableParts(text: string): { word: "ip" | "ip6"; name: ProxyTableName } | undefined {
  const m = LIVE_TABLE.exec(text);
  const word = m?.[1];
  const name = m?.[2];
  if ((word !== "ip" && word !== "ip6") || name === undefined || !isProxyTableName(name)) return undefined;
  return { word, name };
}

/**
 * Whether `text` names a proxy table as NftFacts.liveTables does: "ip" or "ip6", one space, one
 * of PROXY_TABLE_NAMES. What an agent may put there (it goes into printed commands).
 */
export function isLiveTableText(text: string): boolean {
  return liveTableParts(text) !== undefined;
}

/**
 * The proxy's live table of `family` a node reports ("ip podnet-b"), or undefined when it has
 * none. An agent from before the table alternated sends no `liveTables`: its table is `podnet`,
 * live when listed.
 */
export function reportedProxyTable(
  nft: Pick<NftFacts, "tables" | "liveTables">,
  family: Family,
): string | undefined {
  const word = nftFamilyWord(family);
  if (nft.liveTables === undefined) {
    const table = proxyTableName(family);
    return nft.tables.includes(table) ? table : undefined;
  }
  return nft.liveTables.find((t) => liveTableParts(t)?.word === word);
}

/**
 * The proxy's tables of `family` a node lists but does not name live ("ip podnet"): present
 * without base chains, a full sync cut short or still building it. None from an agent that sends
 * no `liveTables` (it took any listed `podnet` for live).
 */
export function unhookedProxyTables(nft: Pick<NftFacts, "tables" | "liveTables">, family: Family): string[] {
  const live = nft.liveTables;
  if (live === undefined) return [];
  const word = nftFamilyWord(family);
  return nft.tables.filter((t) => liveTableParts(t)?.word === word && !live.includes(t));
}

/**
 * What a node's unhooked proxy tables (unhookedProxyTables, not empty) mean, in words a user
 * reads: "ip podnet exists but has no base chains (…)".
 */
export function unhookedTablesText(unhooked: readonly string[]): string {
  const many = unhooked.length > 1;
  return `${unhooked.join(" and ")} ${many ? "exist but have" : "exists but has"} no base chains (a full sync was cut short, or is still building it; the agent replaces it at its next sync)`;
}

/**
 * The proxy's table of `family` as a command shown for the node should name it: the live one it
 * reports, else the first name (`nft list tables` will show it missing).
 */
export function proxyTableOf(nft: Pick<NftFacts, "tables" | "liveTables">, family: Family): string {
  return reportedProxyTable(nft, family) ?? proxyTableName(family);
}

/** Whether a reported set or chain is of the proxy table of `family` (untagged means the IPv4 table). */
export function isOfTable(fact: { readonly family?: NftTableFamily }, family: Family): boolean {
  return (family === 6) === (fact.family === "ip6");
}

/**
 * podnet's proxy keeps one nft table per address family, as kube-proxy keeps one proxier per
 * family: `ip podnet` for IPv4 and `ip6 podnet` for IPv6 (proxy/nft-names.ts names what is inside).
 * The agents report the facts of `ip6 podnet` tagged `family: "ip6"` and those of `ip podnet`
 * untagged (kernel-facts.ts NftTableFamily), so an older reader still reads the IPv4 table.
 */
import type { Family } from "../ipnet/address.ts";
import type { NftTableFamily } from "./kernel-facts.ts";

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

/** The proxy's table of a family as nft names it: "ip podnet" or "ip6 podnet". */
export function proxyTableName(family: Family): string {
  return `${nftFamilyWord(family)} podnet`;
}

/** Whether a reported set or chain is of the proxy table of `family` (untagged means `ip podnet`). */
export function isOfTable(fact: { readonly family?: NftTableFamily }, family: Family): boolean {
  return (family === 6) === (fact.family === "ip6");
}

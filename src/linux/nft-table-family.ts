/**
 * podnet's proxy keeps one nft table per address family, as kube-proxy keeps one proxier per
 * family: `ip podnet` for IPv4 and `ip6 podnet` for IPv6 (proxy/nft-names.ts names what is inside).
 * The agents report the facts of `ip6 podnet` tagged `family: "ip6"` and those of `ip podnet`
 * untagged (kernel-facts.ts NftTableFamily), so an older reader still reads the IPv4 table.
 */
import type { Family } from "../ipnet/address.ts";
import type { NftTableFamily } from "./kernel-facts.ts";

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

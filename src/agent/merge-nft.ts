import type { NftFacts } from "../linux/kernel-facts.ts";

/**
 * Pure: the facts of the live IPv4 and IPv6 proxy tables (`ip podnet` or `ip podnet-b`, and the
 * same in ip6) as one. Both tables name their sets and chains alike (`service-ips`,
 * `nat-postrouting`, …), so every one of `ip6` is tagged `family: "ip6"`; both reads list the same
 * tables, which appear once; each names its live table, and both are kept.
 */
export function mergeNft(ip: NftFacts, ip6: NftFacts): NftFacts {
  return {
    tables: [...new Set([...ip.tables, ...ip6.tables])],
    liveTables: [...new Set([...(ip.liveTables ?? []), ...(ip6.liveTables ?? [])])],
    sets: [...ip.sets, ...ip6.sets.map((s) => ({ ...s, family: "ip6" as const }))],
    chains: [...ip.chains, ...ip6.chains.map((c) => ({ ...c, family: "ip6" as const }))],
  };
}

import type { NftFacts } from "../linux/kernel-facts.ts";

/**
 * Pure: the facts of `ip podnet` and `ip6 podnet` as one. Both tables name their sets and chains
 * alike (`service-ips`, `nat-postrouting`, …), so every one of `ip6` is tagged `family: "ip6"`;
 * both reads list the same tables, which appear once.
 */
export function mergeNft(ip: NftFacts, ip6: NftFacts): NftFacts {
  return {
    tables: [...new Set([...ip.tables, ...ip6.tables])],
    sets: [...ip.sets, ...ip6.sets.map((s) => ({ ...s, family: "ip6" as const }))],
    chains: [...ip.chains, ...ip6.chains.map((c) => ({ ...c, family: "ip6" as const }))],
  };
}

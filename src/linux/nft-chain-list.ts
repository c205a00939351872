/**
 * Which of the proxy's two table names exist in a family, and which of them is hooked, from
 * `nft list chains FAMILY` (pure). That listing costs about 20 ms at any table size, where nft 1.0.6
 * takes two seconds for `nft list tables` or `nft list chain` at 10,000 Services: it reads every set
 * element of the table first. It names every table, also one without chains, and shows a base
 * chain's `type … hook …` line.
 */
import { PROXY_TABLE_NAMES } from "./nft-table-family.ts";

export interface ProxyTablesListing {
  /** Of the two names, those that exist, in PROXY_TABLE_NAMES order. */
  readonly present: readonly string[];
  /** Of those, the ones with a base chain: the table in use (a table being built has none). */
  readonly hooked: readonly string[];
}

export function proxyTablesInChainList(listing: string): ProxyTablesListing {
  const present = new Set<string>();
  const hooked = new Set<string>();
  let table: string | undefined;
  for (const line of listing.split("\n")) {
    const opened = /^table \S+ (\S+) \{$/.exec(line);
    if (opened !== null) {
      table = opened[1];
      if (table !== undefined) present.add(table);
    } else if (line === "}") table = undefined;
    else if (table !== undefined && /^\s+type \S+ hook \S+ /.test(line)) hooked.add(table);
  }
  return {
    present: PROXY_TABLE_NAMES.filter((n) => present.has(n)),
    hooked: PROXY_TABLE_NAMES.filter((n) => hooked.has(n)),
  };
}

/** The table in use: the hooked one; with none hooked, the only one there (or the first). */
export function liveProxyTable(listing: ProxyTablesListing): string | undefined {
  return listing.hooked[0] ?? listing.present[0];
}

/** The name a new table is built under when `live` is the table in use (or none is): the other one. */
export function swapTarget(live: string | undefined): string {
  const [first, second] = PROXY_TABLE_NAMES;
  return live === first ? second : first;
}

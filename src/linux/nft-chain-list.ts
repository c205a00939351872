/**
 * Which tables exist, which of the proxy's two table names (nft-table-family.ts) exist in a
 * family, and which of them is hooked, from `nft list chains [FAMILY]` (the parsers are pure; the
 * finders run nft through the caller's runner: a process on the host, one in a namespace, a test's).
 * That listing costs about 20 ms at any table size, where nft 1.0.6 takes two seconds for
 * `nft list tables` or `nft list chain` at 10,000 Services: it reads every set element of the table
 * first. It names every table, also one without chains (an empty block), and shows a base chain's
 * `type … hook …` line.
 *
 * Two readings of "the table in use". The diagnosis, the lab checks and the tests take only a
 * hooked table as live (`hooked[0]`): a table without base chains sees no packet, so its sets say
 * nothing about what the node does. The proxy, choosing which table a full sync replaces, takes
 * the hooked one, else the one there (liveProxyTable).
 */
import { PROXY_TABLE_NAMES } from "./nft-table-family.ts";

/** A table of the listing: "ip" "podnet-b", and whether one of its chains is a base chain. */
export interface ListedTable {
  readonly family: string;
  readonly name: string;
  readonly hooked: boolean;
}

export interface ProxyTablesListing {
  /** Of the two names, those that exist, in PROXY_TABLE_NAMES order. */
  readonly present: readonly string[];
  /** Of those, the ones with a base chain: the table in use (a table being built has none). */
  readonly hooked: readonly string[];
}

/** `nft ARGS…` (args without "nft"), resolving to its stdout; rejects when nft fails. */
export type NftRunner = (args: readonly string[]) => Promise<string>;

/** Every table of a `nft list chains` listing, in its order. A trailing `# comment` is allowed. */
export function tablesInChainList(listing: string): ListedTable[] {
  const tables: { family: string; name: string; hooked: boolean }[] = [];
  let table: { hooked: boolean } | undefined;
  for (const line of listing.split("\n")) {
    const opened = /^table (\S+) (\S+) \{/.exec(line);
    if (opened?.[1] !== undefined && opened[2] !== undefined) {
      const listed = { family: opened[1], name: opened[2], hooked: false };
      tables.push(listed);
      table = listed;
    } else if (line === "}") table = undefined;
    else if (table !== undefined && /^\s+type \S+ hook \S+ /.test(line)) table.hooked = true;
  }
  return tables;
}

/** Of `tables`, the proxy's two names in `family` (every family's when undefined). */
export function proxyTablesOf(tables: readonly ListedTable[], family?: string): ProxyTablesListing {
  const mine = tables.filter((t) => family === undefined || t.family === family);
  const present = new Set(mine.map((t) => t.name));
  const hooked = new Set(mine.filter((t) => t.hooked).map((t) => t.name));
  return {
    present: PROXY_TABLE_NAMES.filter((n) => present.has(n)),
    hooked: PROXY_TABLE_NAMES.filter((n) => hooked.has(n)),
  };
}

/** The proxy's two names in a listing of one family (`nft list chains FAMILY`). */
export function proxyTablesInChainList(listing: string): ProxyTablesListing {
  return proxyTablesOf(tablesInChainList(listing));
}

/** `nft list chains FAMILY` through `runNft`: which of the proxy's names exist there, which is hooked. */
export async function readProxyTables(family: "ip" | "ip6", runNft: NftRunner): Promise<ProxyTablesListing> {
  return proxyTablesOf(tablesInChainList(await runNft(["list", "chains", family])), family);
}

/** `nft list chains` of every family through `runNft`: every table, hooked or not. */
export async function readTables(runNft: NftRunner): Promise<ListedTable[]> {
  return tablesInChainList(await runNft(["list", "chains"]));
}

/**
 * The table a full sync replaces: the hooked one; with none hooked, the one there (or the first).
 * Not "live" for anything that reads the table's contents: take `hooked[0]` there.
 */
export function liveProxyTable(listing: ProxyTablesListing): string | undefined {
  return listing.hooked[0] ?? listing.present[0];
}

/** The name a new table is built under when `live` is the table in use (or none is): the other one. */
export function swapTarget(live: string | undefined): string {
  const [first, second] = PROXY_TABLE_NAMES;
  return live === first ? second : first;
}

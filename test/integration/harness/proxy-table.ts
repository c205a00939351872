/**
 * The Service proxy's live nft table in a test namespace (by `ip netns` name), for integration
 * tests that read or change it behind the agent. A full sync builds the new table under the other
 * of its two names (`podnet`, `podnet-b`: src/linux/nft-table-family.ts) and swaps, so a test
 * cannot name it in advance. "Live" is the table that has base chains (a table being built has
 * none, and a test must not take its half-filled sets for the proxy's), read from `nft list
 * chains` by src/linux/nft-chain-list.ts, as the agent's facts read it; a swap between finding it
 * and using it is handled as src/linux/on-live-table.ts does. Also a table's JSON listing in a
 * form two tables of the same content give alike.
 */
import { mustRunSync, type RunResult, run, runSync } from "../../../src/linux/exec.ts";
import { inNetns } from "../../../src/linux/netns.ts";
import { proxyTablesOf, tablesInChainList } from "../../../src/linux/nft-chain-list.ts";
import { PROXY_TABLE_NAMES } from "../../../src/linux/nft-table-family.ts";
import { isTableGone, onLiveTableSync } from "../../../src/linux/on-live-table.ts";

export type ProxyFamily = "ip" | "ip6";

/** The name of the proxy's table of `family` that has base chains in `ns`, or undefined. */
export function liveTableIn(ns: string, family: ProxyFamily = "ip"): string | undefined {
  return proxyTablesIn(ns, family).hooked[0];
}

/** Which of the proxy's names exist in `family` in `ns`, hooked or not (`nft list chains`). */
export function proxyTablesIn(ns: string, family: ProxyFamily = "ip") {
  const listing = mustRunSync(inNetns(ns, ["nft", "list", "chains", family])).stdout;
  return proxyTablesOf(tablesInChainList(listing), family);
}

/** As liveTableIn, but an error naming the namespace and the tables it has when there is none. */
export function mustLiveTableIn(ns: string, family: ProxyFamily = "ip"): string {
  const live = liveTableIn(ns, family);
  if (live !== undefined) return live;
  const tables = runSync(inNetns(ns, ["nft", "list", "tables"])).stdout.trim() || "none";
  throw new Error(
    `no live ${family} podnet table (one of ${PROXY_TABLE_NAMES.join(", ")} with base chains) in ${ns}; tables: ${tables}`,
  );
}

/**
 * `nft ARGS…` on the live table of `family` in `ns`: `verb` before the table (["-j", "list",
 * "map"]), `rest` after it (the map's name, an element). A swap between finding the table and
 * the command deletes the table found; then it is found again, once. Throws when nft fails.
 */
export function nftOnLiveTable(
  ns: string,
  family: ProxyFamily,
  verb: readonly string[],
  rest: readonly string[] = [],
): RunResult {
  const r = onLiveTableSync(
    () => mustLiveTableIn(ns, family),
    (table) => runSync(inNetns(ns, ["nft", ...verb, family, table, ...rest])),
    (result) => result.code !== 0 && isTableGone(result.stderr),
  );
  if (r.code === 0) return r;
  throw new Error(`${r.argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/**
 * Table `name` of `family` in `ns` as the kernel lists it (`nft -j list table`), one JSON text per
 * object, sorted: without handles or metainfo, each set's elements sorted, and the table read as
 * `podnet` whatever its name, so two tables of the same content list alike (a full sync through
 * KernelCommands builds under the free one of the two names).
 */
export async function proxyTableListing(
  ns: string,
  name: string,
  family: ProxyFamily = "ip",
): Promise<string[]> {
  const r = await run(inNetns(ns, ["nft", "-j", "list", "table", family, name]), { timeoutMs: 60_000 });
  if (r.code !== 0)
    throw new Error(
      `nft -j list table ${family} ${name} in ${ns} failed (exit ${r.code}): ${r.stderr.trim()}`,
    );
  const json = r.stdout
    .replaceAll(`"table": "${name}"`, '"table": "podnet"')
    .replaceAll(`"name": "${name}"`, '"name": "podnet"');
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== "object" || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v).filter(([k]) => k !== "handle"))
      out[k] = k === "elem" && Array.isArray(x) ? x.map((e) => JSON.stringify(strip(e))).sort() : strip(x);
    return out;
  };
  return (JSON.parse(json) as { nftables: unknown[] }).nftables
    .filter((o) => !(typeof o === "object" && o !== null && "metainfo" in o))
    .map((o) => JSON.stringify(strip(o)))
    .sort();
}

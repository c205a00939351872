/**
 * The Service proxy's live nft table in a test namespace (by `ip netns` name), for integration
 * tests that read or change it behind the agent. A full sync builds the new table under the other
 * of its two names (`podnet`, `podnet-b`: src/linux/nft-table-family.ts) and swaps, so a test
 * cannot name it in advance. Here "live" is strict: the table that has base chains (a table being
 * built has none, and a test must not take its half-filled sets for the proxy's).
 */
import { mustRunSync, type RunResult, runSync } from "../../../src/linux/exec.ts";
import { inNetns } from "../../../src/linux/netns.ts";
import { proxyTablesInChainList } from "../../../src/linux/nft-chain-list.ts";
import { PROXY_TABLE_NAMES } from "../../../src/linux/nft-table-family.ts";

export type ProxyFamily = "ip" | "ip6";

/** The name of the proxy's table of `family` that has base chains in `ns`, or undefined. */
export function liveTableIn(ns: string, family: ProxyFamily = "ip"): string | undefined {
  const listing = mustRunSync(inNetns(ns, ["nft", "list", "chains", family])).stdout;
  return proxyTablesInChainList(listing).hooked[0];
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
  let r: RunResult | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const argv = inNetns(ns, ["nft", ...verb, family, mustLiveTableIn(ns, family), ...rest]);
    r = runSync(argv);
    if (r.code === 0) return r;
    if (!/No such file or directory/.test(r.stderr)) break;
  }
  const failed = r as RunResult;
  throw new Error(`${failed.argv.join(" ")} failed (exit ${failed.code}): ${failed.stderr.trim()}`);
}

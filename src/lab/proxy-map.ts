/**
 * A map of the Service proxy's table as `nft list map` prints it in a lab node's namespace, for
 * `podnet lab check`'s waits. The table of a family is live as `podnet` or `podnet-b` (a full sync
 * builds the new one under the other name and swaps: linux/nft-table-family.ts), so the live one
 * is found first; a swap between finding it and listing it deletes it, and then it is found again,
 * once.
 */
import { type RunResult, run } from "../linux/exec.ts";
import { inNetns, netnsPath } from "../linux/netns.ts";
import { liveProxyTableName } from "../linux/nft-facts.ts";
import { nftFamilyWord, PROXY_TABLE_NAMES } from "../linux/nft-table-family.ts";
import type { LabFamily } from "./lab-families.ts";

const LIST_TIMEOUT_MS = 10_000;

/**
 * `nft list map FAMILY TABLE MAP` in the node namespace `netns`, TABLE the live proxy table of
 * family f; with neither name present, the first (nft then says the table does not exist).
 */
export async function listProxyMap(netns: string, f: LabFamily, map: string): Promise<RunResult> {
  const family = nftFamilyWord(f);
  let r: RunResult | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const table = (await liveProxyTableName(family, { netnsPath: netnsPath(netns) })) ?? PROXY_TABLE_NAMES[0];
    r = await run(inNetns(netns, ["nft", "list", "map", family, table, map]), { timeoutMs: LIST_TIMEOUT_MS });
    if (r.code === 0 || !/No such file or directory/.test(r.stderr)) return r;
  }
  return r as RunResult;
}

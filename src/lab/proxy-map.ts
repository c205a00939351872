/**
 * A map of the Service proxy's table as `nft list map` prints it in a lab node's namespace, for
 * `podnet lab check`'s waits. The table of a family is live as `podnet` or `podnet-b` (a full sync
 * builds the new one under the other name and swaps: linux/nft-table-family.ts), so the live one
 * (with base chains) is found first; a swap between finding it and listing it deletes it, and then
 * it is found again, once (linux/on-live-table.ts).
 */
import { type RunResult, run } from "../linux/exec.ts";
import { inNetns, netnsPath } from "../linux/netns.ts";
import { liveProxyTableName } from "../linux/nft-facts.ts";
import { nftFamilyWord, PROXY_TABLE_NAMES } from "../linux/nft-table-family.ts";
import { isTableGone, onLiveTable } from "../linux/on-live-table.ts";
import type { LabFamily } from "./lab-families.ts";

const LIST_TIMEOUT_MS = 10_000;

/**
 * `nft list map FAMILY TABLE MAP` in the node namespace `netns`, TABLE the live proxy table of
 * family f. With neither name hooked, a failed result saying so: a table being built holds half
 * its elements, and no packet sees it.
 */
export async function listProxyMap(netns: string, f: LabFamily, map: string): Promise<RunResult> {
  const family = nftFamilyWord(f);
  return onLiveTable(
    () => liveProxyTableName(family, { netnsPath: netnsPath(netns) }),
    async (table): Promise<RunResult> => {
      const argv = inNetns(netns, ["nft", "list", "map", family, table ?? PROXY_TABLE_NAMES[0], map]);
      if (table === undefined)
        return {
          argv,
          code: 1,
          stdout: "",
          stderr: `no live ${family} proxy table in ${netns}: neither ${PROXY_TABLE_NAMES.join(" nor ")} has base chains`,
        };
      return run(argv, { timeoutMs: LIST_TIMEOUT_MS });
    },
    (r) => r.code !== 0 && isTableGone(r.stderr),
  );
}

/**
 * The service proxy's kernel operations as programs run on the host: `nft -f -` for a
 * transaction, `nft list set` to see whether the table is there, `conntrack -D` for a flow.
 */
import { errorText } from "../base/error-text.ts";
import { run } from "../linux/exec.ts";
import type { NftFamily } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import { NAMES } from "./nft-names.ts";
import { type FlowDeletion, NftRefusedError, type ProxyKernel } from "./proxy-kernel.ts";
import { conntrackDeleteArgs, type StaleFlow } from "./stale-flows.ts";

export class KernelCommands implements ProxyKernel {
  async applyTransaction(text: string): Promise<void> {
    const result = await run(["nft", "-f", "-"], { stdin: text, timeoutMs: 60_000 });
    if (result.code !== 0) {
      const reason = result.stderr.trim().split("\n").slice(0, 6).join("; ");
      throw new NftRefusedError(`nft refused the ${TABLE_NAME} transaction (exit ${result.code}): ${reason}`);
    }
  }

  /**
   * Asks for the small set of pod CIDRs, which every rendering has. Not a chain: nft 1.0.6 lists
   * every chain of the table to answer for one (1.67 s with 10,000 Services, against 0.02 s).
   */
  async tableExists(family: NftFamily): Promise<boolean> {
    const r = await run(["nft", "list", "set", family, TABLE_NAME, NAMES.podCidrs], {
      timeoutMs: 10_000,
    });
    return r.code === 0;
  }

  async deleteFlowEntries(flow: StaleFlow): Promise<FlowDeletion> {
    try {
      const result = await run(["conntrack", ...conntrackDeleteArgs(flow)], { timeoutMs: 10_000 });
      // "N flow entries have been deleted"; conntrack exits 1 when none matched (the usual case).
      const deleted = /(\d+) flow entr/.exec(result.stderr);
      return deleted === null
        ? { error: result.stderr.trim() || `exit ${result.code}` }
        : { deleted: Number(deleted[1]) };
    } catch (e) {
      // The program could not be started at all (not installed).
      return { error: errorText(e) };
    }
  }
}

/**
 * The service proxy's three kernel operations, each one program run: apply a transaction to
 * podnet's table (`nft -f -`), see whether the table is there, delete conntrack entries.
 */
import { run } from "../linux/exec.ts";
import type { NftFamily } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import { conntrackDeleteArgs, type StaleFlow } from "./stale-flows.ts";

export class NftRefusedError extends Error {
  override readonly name = "NftRefusedError";
}

/** Applies one `nft -f` transaction atomically; throws with nft's first error lines. */
export async function applyTransaction(text: string): Promise<void> {
  const result = await run(["nft", "-f", "-"], { stdin: text, timeoutMs: 60_000 });
  if (result.code !== 0) {
    const reason = result.stderr.trim().split("\n").slice(0, 6).join("; ");
    throw new NftRefusedError(`nft refused the ${TABLE_NAME} transaction (exit ${result.code}): ${reason}`);
  }
}

/** Whether podnet's table of `family` exists (its base chain answers). */
export async function tableExists(family: NftFamily): Promise<boolean> {
  const r = await run(["nft", "list", "chain", family, TABLE_NAME, "nat-prerouting"], { timeoutMs: 10_000 });
  return r.code === 0;
}

/** Deletes the conntrack entries of one flow: how many went, or the error text. */
export async function deleteFlowEntries(flow: StaleFlow): Promise<{ deleted: number } | { error: string }> {
  const result = await run(["conntrack", ...conntrackDeleteArgs(flow)], { timeoutMs: 10_000 });
  // "N flow entries have been deleted"; conntrack exits 1 when none matched (the usual case).
  const deleted = /(\d+) flow entr/.exec(result.stderr);
  return deleted === null
    ? { error: result.stderr.trim() || `exit ${result.code}` }
    : { deleted: Number(deleted[1]) };
}

/**
 * What the service proxy asks of the kernel, four operations: apply one nft transaction to
 * podnet's table, replace the table of a family in full, see which of its tables are there,
 * delete the conntrack entries of a flow; and close() for what it keeps running. KernelCommands runs the programs; RecordingKernel
 * stands in for it in unit tests, so the proxy's apply / fall back / resync logic is tested
 * without root.
 */
import type { NftFamily } from "./nft-model.ts";
import type { StaleFlow } from "./stale-flows.ts";
import type { TableContent } from "./table-content.ts";

/** How many conntrack entries of a flow were deleted, or why none could be. */
export type FlowDeletion = { readonly deleted: number } | { readonly error: string };

/**
 * A "full" transaction goes through a new `nft -f` (deleting a table, or a full sync's text when
 * the elements cannot go over netlink); a partial one changes a few elements and chains (small,
 * frequent), which a long-lived nft applies without a process start.
 */
export type TransactionKind = "full" | "partial";

export interface ProxyKernel {
  /**
   * Applies one transaction atomically (all of it or nothing). Rejects with NftRefusedError when
   * nft refused it, with another error when nft could not be run or did not answer.
   */
  applyTransaction(text: string, kind: TransactionKind): Promise<void>;
  /**
   * Replaces podnet's table of the content's family with `content`, atomically: packets see the old
   * table or the new one. Resolves to the name the table has now (the two names alternate,
   * table-swap.ts); rejects as applyTransaction does, leaving the old table as it was.
   */
  replaceTable(content: TableContent): Promise<ReplaceOutcome>;
  /** Which of podnet's table names exist in `family` (none, one, or two after a swap was cut short). */
  proxyTables(family: NftFamily): Promise<readonly string[]>;
  /** Deletes the conntrack entries of one flow; never rejects (a failure is the `error` answer). */
  deleteFlowEntries(flow: StaleFlow): Promise<FlowDeletion>;
  /** Ends what the kernel side keeps running (the nft session); called once, on stop. */
  close(): Promise<void>;
}

/** What a full replacement did. */
export interface ReplaceOutcome {
  /** The name the table has now. */
  readonly table: string;
  /** How many elements went over netlink instead of through nft's parser. */
  readonly netlinkElements: number;
  /** Why nft had to parse elements netlink should have taken (the sync still worked, slower). */
  readonly fallback?: string;
}

/** nft ran and refused the transaction (it does not fit the table the kernel has). */
export class NftRefusedError extends Error {
  override readonly name = "NftRefusedError";
}

/**
 * A ProxyKernel in memory for tests of the service proxy: it records every transaction, table
 * check and conntrack deletion, keeps track of which of podnet's tables exist the way nft would
 * (a transaction that touches a missing table is refused, a full sync creates it), and can be
 * told to refuse transactions, to lose a table, or to fail as if nft could not be run. It records
 * each transaction's kind (full or partial) and how often it was closed. A full replacement is
 * recorded as the one `nft -f` text that would do it, under the name `podnet` (the real kernel's
 * alternating names are tested on a kernel: test/integration/proxy-table-swap.test.ts).
 */
import type { NftFamily } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import {
  type FlowDeletion,
  NftRefusedError,
  type ProxyKernel,
  type TransactionKind,
} from "./proxy-kernel.ts";
import type { StaleFlow } from "./stale-flows.ts";
import { type TableContent, tableText } from "./table-content.ts";

export interface RecordedTransaction {
  readonly text: string;
  readonly kind: TransactionKind;
  readonly outcome: "applied" | "refused" | "failed";
}

const FAMILIES: readonly NftFamily[] = ["ip", "ip6"];
const familyOf = (text: string | undefined): NftFamily | undefined => FAMILIES.find((f) => f === text);

export class RecordingKernel implements ProxyKernel {
  readonly transactions: RecordedTransaction[] = [];
  readonly tableChecks: NftFamily[] = [];
  readonly flowDeletions: StaleFlow[] = [];
  /** What every conntrack deletion answers. */
  flowAnswer: FlowDeletion = { deleted: 1 };
  /** How many times close() was called. */
  closed = 0;
  private tables = new Set<NftFamily>();
  private refusals = 0;
  private failure: Error | undefined;

  /** Transactions the kernel took, in order. */
  get applied(): string[] {
    return this.transactions.filter((t) => t.outcome === "applied").map((t) => t.text);
  }

  /** The next `count` transactions are refused, as nft refuses one that does not fit the table. */
  refuseNext(count = 1): void {
    this.refusals += count;
  }

  /** Every transaction fails with `error` (nft cannot be run) until `recover`. */
  fail(error = new Error("nft: command not found")): void {
    this.failure = error;
  }

  recover(): void {
    this.failure = undefined;
  }

  /** podnet's table of `family` is deleted behind the proxy's back. */
  dropTable(family: NftFamily): void {
    this.tables.delete(family);
  }

  hasTable(family: NftFamily): boolean {
    return this.tables.has(family);
  }

  async applyTransaction(text: string, kind: TransactionKind): Promise<void> {
    if (this.failure !== undefined) {
      this.transactions.push({ text, kind, outcome: "failed" });
      throw this.failure;
    }
    const result = this.refusals > 0 ? { refusal: "refused as told" } : this.replay(text);
    if ("refusal" in result) {
      this.refusals = Math.max(0, this.refusals - 1);
      this.transactions.push({ text, kind, outcome: "refused" });
      throw new NftRefusedError(`nft refused the ${TABLE_NAME} transaction: ${result.refusal}`);
    }
    this.transactions.push({ text, kind, outcome: "applied" });
    this.tables = result.tables;
  }

  async replaceTable(content: TableContent): Promise<string> {
    await this.applyTransaction(tableText(content, TABLE_NAME), "full");
    return TABLE_NAME;
  }

  async proxyTables(family: NftFamily): Promise<readonly string[]> {
    this.tableChecks.push(family);
    return this.tables.has(family) ? [TABLE_NAME] : [];
  }

  async deleteFlowEntries(flow: StaleFlow): Promise<FlowDeletion> {
    this.flowDeletions.push(flow);
    return this.flowAnswer;
  }

  async close(): Promise<void> {
    this.closed++;
  }

  /**
   * Walks the commands as nft does: `add table` and a `table … {` block create the table,
   * `delete table` removes it, any other command needs it. Gives the tables after the
   * transaction, or why it is refused.
   */
  private replay(text: string): { tables: Set<NftFamily> } | { refusal: string } {
    const tables = new Set(this.tables);
    const block = new RegExp(`^table (\\S+) ${TABLE_NAME} \\{$`);
    // Only podnet's own name: `podnet-b`, the other name a real kernel alternates with, is not modelled.
    const command = new RegExp(`^(\\w+) (\\w+) (\\S+) ${TABLE_NAME}(?:\\s|$)`);
    for (const line of text.split("\n")) {
      const opened = block.exec(line);
      const run = command.exec(line);
      const family = familyOf(opened?.[1] ?? run?.[3]);
      if (family === undefined) continue;
      const verb = run === null ? "" : `${run[1]} ${run[2]}`;
      if (opened !== null || verb === "add table") tables.add(family);
      else if (!tables.has(family))
        return { refusal: `"${line}": table ${family} ${TABLE_NAME} does not exist` };
      else if (verb === "delete table") tables.delete(family);
    }
    return { tables };
  }
}

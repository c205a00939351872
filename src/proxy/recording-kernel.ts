/**
 * A ProxyKernel in memory for tests of the service proxy: it records every transaction, table
 * check and conntrack deletion, keeps track of which of podnet's tables exist the way nft would
 * (a transaction that touches a missing table is refused, a full sync creates it), and can be
 * told to refuse transactions, to lose a table, to hold a half-built one, or to fail as if nft
 * could not be run. It records each transaction's kind (full or partial) and how often it was
 * closed.
 *
 * A full replacement swaps names as KernelCommands does (the table is built under the name not in
 * use and the old one deleted) and is recorded as the one `nft -f` text with that net effect:
 * renderNft's text for the new name, then the deletion of the old table.
 */
import { liveProxyTable, swapTarget } from "../linux/nft-chain-list.ts";
import { PROXY_TABLE_NAMES } from "../linux/nft-table-family.ts";
import { dropTableText, type NftFamily } from "./nft-model.ts";
import {
  type FlowDeletion,
  NftRefusedError,
  type ProxyKernel,
  type ReplaceOutcome,
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
const NAMES = PROXY_TABLE_NAMES.join("|");
const BLOCK = new RegExp(`^table (\\S+) (${NAMES}) \\{$`);
const COMMAND = new RegExp(`^(\\w+) (\\w+) (\\S+) (${NAMES})(?:\\s|$)`);

export class RecordingKernel implements ProxyKernel {
  readonly transactions: RecordedTransaction[] = [];
  readonly tableChecks: NftFamily[] = [];
  readonly flowDeletions: StaleFlow[] = [];
  /** What every conntrack deletion answers. */
  flowAnswer: FlowDeletion = { deleted: 1 };
  /** How many times close() was called. */
  closed = 0;
  /** "family name" of every table there, and of those without base chains (half-built). */
  private tables = new Set<string>();
  private unhooked = new Set<string>();
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

  /** podnet's tables of `family` are deleted behind the proxy's back. */
  dropTable(family: NftFamily): void {
    for (const name of PROXY_TABLE_NAMES) {
      this.tables.delete(`${family} ${name}`);
      this.unhooked.delete(`${family} ${name}`);
    }
  }

  /** A table a previous agent left: live (`hooked`) or half-built. */
  leaveTable(family: NftFamily, name: string, hooked: boolean): void {
    this.tables.add(`${family} ${name}`);
    if (hooked) this.unhooked.delete(`${family} ${name}`);
    else this.unhooked.add(`${family} ${name}`);
  }

  hasTable(family: NftFamily): boolean {
    return this.namesOf(family).length > 0;
  }

  /** The name of the hooked table of `family`, if any. */
  liveName(family: NftFamily): string | undefined {
    return this.namesOf(family).find((n) => !this.unhooked.has(`${family} ${n}`));
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
      throw new NftRefusedError(`nft refused the transaction: ${result.refusal}`);
    }
    this.transactions.push({ text, kind, outcome: "applied" });
    this.tables = result.tables;
    for (const t of this.unhooked) if (!this.tables.has(t)) this.unhooked.delete(t);
  }

  async replaceTable(content: TableContent): Promise<ReplaceOutcome> {
    const family = content.family;
    const present = this.namesOf(family);
    const live = liveProxyTable({
      present,
      hooked: present.filter((n) => !this.unhooked.has(`${family} ${n}`)),
    });
    const table = swapTarget(live);
    const old = live === undefined ? "" : dropTableText(family, live);
    await this.applyTransaction(tableText(content, table) + old, "full");
    this.unhooked.delete(`${family} ${table}`);
    return { table, netlinkElements: 0 };
  }

  async proxyTables(family: NftFamily): Promise<readonly string[]> {
    this.tableChecks.push(family);
    return this.namesOf(family);
  }

  async deleteFlowEntries(flow: StaleFlow): Promise<FlowDeletion> {
    this.flowDeletions.push(flow);
    return this.flowAnswer;
  }

  async close(): Promise<void> {
    this.closed++;
  }

  private namesOf(family: NftFamily): string[] {
    return PROXY_TABLE_NAMES.filter((n) => this.tables.has(`${family} ${n}`));
  }

  /**
   * Walks the commands as nft does: `add table` and a `table … {` block create the table,
   * `delete table` removes it, any other command needs it. Gives the tables after the
   * transaction, or why it is refused.
   */
  private replay(text: string): { tables: Set<string> } | { refusal: string } {
    const tables = new Set(this.tables);
    for (const line of text.split("\n")) {
      const opened = BLOCK.exec(line);
      const run = COMMAND.exec(line);
      const family = familyOf(opened?.[1] ?? run?.[3]);
      const name = opened?.[2] ?? run?.[4];
      if (family === undefined || name === undefined) continue;
      const table = `${family} ${name}`;
      const verb = run === null ? "" : `${run[1]} ${run[2]}`;
      if (opened !== null || verb === "add table") tables.add(table);
      else if (!tables.has(table)) return { refusal: `"${line}": table ${table} does not exist` };
      else if (verb === "delete table") tables.delete(table);
    }
    return { tables };
  }
}

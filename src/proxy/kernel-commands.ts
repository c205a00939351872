/**
 * The service proxy's kernel operations as programs run on the host: a partial transaction through
 * one long-lived `nft -i` (linux/nft-session.ts: no process start per sync), a full replacement of
 * the table as table-swap.ts plans it (two `nft -f -` and one netlink batch of elements),
 * `nft list chains` to see which tables are there, `conntrack -D` for a flow.
 */
import { errorText } from "../base/error-text.ts";
import { run } from "../linux/exec.ts";
import { loadSetElements, NftElementsRefusedError } from "../linux/netlink/nft-element-loader.ts";
import { type ElementLayout, ElementSyntaxError, elementLayout } from "../linux/netlink/nft-element-types.ts";
import { netlinkAvailable, SocketUnavailableError } from "../linux/netlink/socket.ts";
import {
  liveProxyTable,
  type ProxyTablesListing,
  proxyTablesInChainList,
  swapTarget,
} from "../linux/nft-chain-list.ts";
import {
  NftSession,
  type NftSessionOptions,
  NftSessionRefusedError,
  NftSessionStartError,
  NftSessionUnsupportedError,
} from "../linux/nft-session.ts";
import { refusalReason } from "../linux/nft-session-protocol.ts";
import type { NftFamily, NftNamedSet } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import {
  type FlowDeletion,
  NftRefusedError,
  type ProxyKernel,
  type TransactionKind,
} from "./proxy-kernel.ts";
import { conntrackDeleteArgs, type StaleFlow } from "./stale-flows.ts";
import type { TableContent } from "./table-content.ts";
import { planSwap, type SwapPlan } from "./table-swap.ts";

/** How the netlink loader encodes a set's elements; undefined leaves them to nft (interval, timeout sets). */
export function netlinkLayout(set: NftNamedSet): ElementLayout | undefined {
  return set.kind === "map"
    ? elementLayout({ type: set.type, data: set.data, typeOf: set.typeOf === true, flags: [] })
    : elementLayout({ type: set.type, typeOf: false, flags: set.flags });
}

export interface KernelCommandsOptions {
  /** Partial syncs through a long-lived `nft -i` (default); false: `nft -f -` for every one. */
  readonly session?: boolean;
  /**
   * argv every program runs under, e.g. `["ip", "netns", "exec", NS]` for a bench or a test;
   * empty for the agent, which runs inside its node's namespace already.
   */
  readonly prefix?: readonly string[];
  /**
   * The namespace a netlink socket is opened in (`/run/netns/NAME`) when `prefix` enters one: a full
   * sync's elements go over netlink only where the socket and the programs reach the same namespace
   * (no `prefix`, or this given); otherwise nft parses them.
   */
  readonly netnsPath?: string;
  /** Limits of the session (its timeout, when it is replaced). */
  readonly sessionOptions?: Omit<NftSessionOptions, "prefix">;
}

export class KernelCommands implements ProxyKernel {
  private readonly prefix: readonly string[];
  private readonly netnsPath: string | undefined;
  private netlink: boolean;
  private session: NftSession | undefined;
  /** The last full sync: the table it built, and how many elements went over netlink (0: all through nft). */
  lastReplace: { readonly table: string; readonly netlinkElements: number } | undefined;

  constructor(options: KernelCommandsOptions = {}) {
    this.prefix = options.prefix ?? [];
    this.netnsPath = options.netnsPath;
    this.netlink = netlinkAvailable() && (this.prefix.length === 0 || this.netnsPath !== undefined);
    this.session =
      options.session === false
        ? undefined
        : new NftSession({ ...options.sessionOptions, prefix: this.prefix });
  }

  async applyTransaction(text: string, kind: TransactionKind): Promise<void> {
    if (kind === "partial" && this.session !== undefined) {
      try {
        return await this.session.apply(text);
      } catch (e) {
        if (e instanceof NftSessionRefusedError)
          throw new NftRefusedError(`nft refused the ${TABLE_NAME} transaction: ${e.reason}`);
        // nft cannot be started as a session (or the text cannot be one line): `nft -f -` gives
        // the same answer, or the same error, as before there was a session.
        if (!(e instanceof NftSessionStartError || e instanceof NftSessionUnsupportedError)) throw e;
        // An nft that cannot run as a session will not later either: one start per sync is waste.
        if (e instanceof NftSessionStartError) {
          const session = this.session;
          this.session = undefined;
          await session?.close();
        }
      }
    }
    await this.nftFile(text, TABLE_NAME);
  }

  private async nftFile(text: string, table: string): Promise<void> {
    const result = await run([...this.prefix, "nft", "-f", "-"], { stdin: text, timeoutMs: 60_000 });
    if (result.code !== 0) {
      const reason = refusalReason(result.stderr);
      throw new NftRefusedError(`nft refused the ${table} transaction (exit ${result.code}): ${reason}`);
    }
  }

  async replaceTable(content: TableContent): Promise<string> {
    return this.replace(content, this.netlink);
  }

  private async replace(content: TableContent, netlink: boolean): Promise<string> {
    const live = await this.liveTable(content.family);
    const plan = planSwap(content, live, swapTarget(live), netlink ? netlinkLayout : () => undefined);
    if (plan.loads.length === 0) {
      await this.nftFile(plan.build + plan.swap, plan.target);
      this.lastReplace = { table: plan.target, netlinkElements: 0 };
      return plan.target;
    }
    await this.nftFile(plan.build, plan.target);
    try {
      loadSetElements(plan.family, plan.target, plan.loads, { netnsPath: this.netnsPath });
      await this.nftFile(plan.swap, plan.target);
    } catch (e) {
      // The old table is untouched; the half-built one must not stay behind.
      await this.dropQuietly(plan);
      if (e instanceof NftElementsRefusedError) throw new NftRefusedError(e.message);
      // No netlink socket here (blocked, or the namespace cannot be entered): nft parses them all,
      // from now on.
      if (e instanceof SocketUnavailableError) this.netlink = false;
      // An element the encoder does not read (it reads what podnet renders): nft parses this one.
      else if (!(e instanceof ElementSyntaxError)) throw e;
      return this.replace(content, false);
    }
    this.lastReplace = {
      table: plan.target,
      netlinkElements: plan.loads.reduce((n, l) => n + l.elements.length, 0),
    };
    return plan.target;
  }

  private async dropQuietly(plan: SwapPlan<ElementLayout>): Promise<void> {
    const table = `${plan.family} ${plan.target}`;
    await run([...this.prefix, "nft", "-f", "-"], {
      stdin: `add table ${table}\ndelete table ${table}\n`,
      timeoutMs: 60_000,
    }).catch(() => undefined);
  }

  /** The table in use (see liveProxyTable); undefined when neither name exists. */
  private async liveTable(family: NftFamily): Promise<string | undefined> {
    return liveProxyTable(await this.chainList(family));
  }

  /** Which of podnet's two table names exist in `family`. */
  async proxyTables(family: NftFamily): Promise<readonly string[]> {
    return (await this.chainList(family)).present;
  }

  /** `nft list chains FAMILY`: 20 ms at any table size (`nft list tables` reads every element). */
  private async chainList(family: NftFamily): Promise<ProxyTablesListing> {
    const r = await run([...this.prefix, "nft", "list", "chains", family], { timeoutMs: 10_000 });
    if (r.code !== 0)
      throw new Error(`nft list chains ${family} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return proxyTablesInChainList(r.stdout);
  }

  async deleteFlowEntries(flow: StaleFlow): Promise<FlowDeletion> {
    try {
      const result = await run([...this.prefix, "conntrack", ...conntrackDeleteArgs(flow)], {
        timeoutMs: 10_000,
      });
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

  /** Ends the nft session's child; partial syncs fail after it (the proxy has stopped). */
  async close(): Promise<void> {
    await this.session?.close();
  }
}

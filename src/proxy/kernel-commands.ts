/**
 * The service proxy's kernel operations as programs run on the host: a partial transaction through
 * one long-lived `nft -i` (linux/nft-session.ts: no process start per sync), a full replacement of
 * the table as table-swap.ts plans it (two `nft -f -` and netlink batches of elements),
 * `nft list chains` to see which tables are there, `conntrack -D` for a flow.
 */
import { errorText } from "../base/error-text.ts";
import { run } from "../linux/exec.ts";
import {
  NetlinkBatchTooLargeError,
  NftElementsRefusedError,
  NftSocketUnavailableError,
} from "../linux/netlink/nft-element-errors.ts";
import { DEFAULT_ELEMENTS_PER_BATCH, loadSetElementsInSteps } from "../linux/netlink/nft-element-loader.ts";
import { type ElementLayout, elementLayout } from "../linux/netlink/nft-element-types.ts";
import { netlinkAvailable } from "../linux/netlink/socket.ts";
import {
  liveProxyTable,
  type ProxyTablesListing,
  readProxyTables,
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
import { dropTableText, type NftFamily, type NftNamedSet } from "./nft-model.ts";
import {
  type FlowDeletion,
  NftRefusedError,
  type ProxyKernel,
  type ReplaceOutcome,
  type TransactionKind,
} from "./proxy-kernel.ts";
import { conntrackDeleteArgs, type StaleFlow } from "./stale-flows.ts";
import type { TableContent } from "./table-content.ts";
import { planSwap } from "./table-swap.ts";

/** How the netlink loader encodes a set's elements; undefined leaves them to nft (interval, timeout sets). */
export function netlinkLayout(set: NftNamedSet): ElementLayout | undefined {
  if (set.kind === "map")
    return elementLayout({ type: set.type, data: set.data, typeOf: set.typeOf === true, flags: [] });
  // A default timeout makes elements expire: nft's business, as the flags are.
  if (set.timeoutSeconds !== undefined) return undefined;
  return elementLayout({ type: set.type, typeOf: false, flags: set.flags });
}

/** Below this, a socket that small is not worth it: nft parses. */
const MIN_ELEMENTS_PER_BATCH = 256;

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
  /** Elements per netlink batch (default 8,192); a socket that cannot take a batch gets smaller ones. */
  readonly elementsPerBatch?: number;
  /** Limits of the session (its timeout, when it is replaced). */
  readonly sessionOptions?: Omit<NftSessionOptions, "prefix">;
}

export class KernelCommands implements ProxyKernel {
  private readonly prefix: readonly string[];
  private readonly netnsPath: string | undefined;
  private netlink: boolean;
  private elementsPerBatch: number;
  private session: NftSession | undefined;

  constructor(options: KernelCommandsOptions = {}) {
    this.prefix = options.prefix ?? [];
    this.netnsPath = options.netnsPath;
    this.elementsPerBatch = options.elementsPerBatch ?? DEFAULT_ELEMENTS_PER_BATCH;
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
        // nft's reason quotes the refused command, table included.
        if (e instanceof NftSessionRefusedError)
          throw new NftRefusedError(`nft refused the transaction: ${e.reason}`);
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
    await this.nftFile(text, "the transaction");
  }

  /** One `nft -f -`; `what` names the step in the refusal ("building ip podnet-b"). */
  private async nftFile(text: string, what: string): Promise<void> {
    const result = await run([...this.prefix, "nft", "-f", "-"], { stdin: text, timeoutMs: 60_000 });
    if (result.code !== 0) {
      const reason = refusalReason(result.stderr);
      throw new NftRefusedError(`nft refused ${what} (exit ${result.code}): ${reason}`);
    }
  }

  async replaceTable(content: TableContent): Promise<ReplaceOutcome> {
    return this.replace(content, this.netlink);
  }

  /**
   * table-swap.ts's three steps. Without netlink (not available here, or switched off with
   * PODNET_NETLINK=0), nft parses every element and the build and the swap are one transaction;
   * `fallback` says why netlink failed when it was tried.
   */
  private async replace(content: TableContent, netlink: boolean, fallback?: string): Promise<ReplaceOutcome> {
    const family = content.family;
    const live = await this.liveTable(family);
    const plan = planSwap(content, live, swapTarget(live), netlink ? netlinkLayout : () => undefined);
    const table = `${family} ${plan.target}`;
    const replacing = live === undefined ? `building ${table}` : `replacing ${family} ${live} by ${table}`;
    if (plan.loads.length === 0) {
      await this.nftFile(plan.build + plan.swap, replacing);
      return { table: plan.target, netlinkElements: 0, ...(fallback === undefined ? {} : { fallback }) };
    }
    await this.nftFile(plan.build, `building ${table}`);
    let loaded: number;
    try {
      // In steps, so the agent's other work (DNS answers, CNI requests) waits one batch at most.
      const result = await loadSetElementsInSteps(family, plan.target, plan.loads, {
        netnsPath: this.netnsPath,
        elementsPerBatch: this.elementsPerBatch,
      });
      loaded = result.elements;
    } catch (e) {
      // Nothing hooks the new table yet: dropping it leaves the kernel as it was.
      await this.dropUnhooked(family, plan.target);
      if (e instanceof NftElementsRefusedError) throw new NftRefusedError(e.message, { cause: e });
      // A socket buffer smaller than a batch (no CAP_NET_ADMIN to force it, in a user namespace):
      // smaller batches, from now on. The batches are separate transactions into an unhooked table.
      if (e instanceof NetlinkBatchTooLargeError && this.elementsPerBatch > MIN_ELEMENTS_PER_BATCH) {
        const fits = Math.floor((this.elementsPerBatch * e.bufferBytes * 0.8) / e.neededBytes);
        this.elementsPerBatch = Math.max(MIN_ELEMENTS_PER_BATCH, Math.min(fits, this.elementsPerBatch >> 1));
        return this.replace(content, true, fallback);
      }
      // Netlink cannot be had here (no socket, namespace not enterable): nft parses from now on.
      const off = e instanceof NftSocketUnavailableError;
      if (off) this.netlink = false;
      // Anything else (an element the encoder does not read): nft parses this one. The sync
      // works, slower; the reason goes to the proxy's log and error count.
      const reason = `elements over netlink failed${off ? " (nft parses them from now on)" : ""}: ${errorText(e)}`;
      return this.replace(content, false, reason);
    }
    try {
      await this.nftFile(plan.swap, replacing);
    } catch (e) {
      await this.dropUnhooked(family, plan.target);
      throw e;
    }
    return { table: plan.target, netlinkElements: loaded };
  }

  /**
   * Deletes a table this sync was building, unless it is hooked: a swap nft committed but
   * reported as failed (killed on its timeout) made it the live one.
   */
  private async dropUnhooked(family: NftFamily, name: string): Promise<void> {
    const listing = await this.chainList(family).catch(() => undefined);
    if (listing === undefined || listing.hooked.includes(name) || !listing.present.includes(name)) return;
    const table = `${family} ${name}`;
    await this.nftFile(dropTableText(family, name), `deleting ${table}`).catch(() => undefined);
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
  private chainList(family: NftFamily): Promise<ProxyTablesListing> {
    return readProxyTables(family, async (args) => {
      const r = await run([...this.prefix, "nft", ...args], { timeoutMs: 10_000 });
      if (r.code !== 0) throw new Error(`nft ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    });
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

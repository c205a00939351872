/**
 * The service proxy's kernel operations as programs run on the host: a partial transaction through
 * one long-lived `nft -i` (linux/nft-session.ts: no process start per sync), a full one through
 * `nft -f -`, `nft list set` to see whether the table is there, `conntrack -D` for a flow.
 */
import { errorText } from "../base/error-text.ts";
import { run } from "../linux/exec.ts";
import {
  NftSession,
  type NftSessionOptions,
  NftSessionRefusedError,
  NftSessionStartError,
  NftSessionUnsupportedError,
} from "../linux/nft-session.ts";
import { refusalReason } from "../linux/nft-session-protocol.ts";
import type { NftFamily } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import { NAMES } from "./nft-names.ts";
import {
  type FlowDeletion,
  NftRefusedError,
  type ProxyKernel,
  type TransactionKind,
} from "./proxy-kernel.ts";
import { conntrackDeleteArgs, type StaleFlow } from "./stale-flows.ts";

export interface KernelCommandsOptions {
  /** Partial syncs through a long-lived `nft -i` (default); false: `nft -f -` for every one. */
  readonly session?: boolean;
  /**
   * argv every program runs under, e.g. `["ip", "netns", "exec", NS]` for a bench or a test;
   * empty for the agent, which runs inside its node's namespace already.
   */
  readonly prefix?: readonly string[];
  /** Limits of the session (its timeout, when it is replaced). */
  readonly sessionOptions?: Omit<NftSessionOptions, "prefix">;
}

export class KernelCommands implements ProxyKernel {
  private readonly prefix: readonly string[];
  private session: NftSession | undefined;

  constructor(options: KernelCommandsOptions = {}) {
    this.prefix = options.prefix ?? [];
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
    const result = await run([...this.prefix, "nft", "-f", "-"], { stdin: text, timeoutMs: 60_000 });
    if (result.code !== 0) {
      const reason = refusalReason(result.stderr);
      throw new NftRefusedError(`nft refused the ${TABLE_NAME} transaction (exit ${result.code}): ${reason}`);
    }
  }

  /**
   * Asks for the small set of pod CIDRs, which every rendering has. Not a chain: nft 1.0.6 lists
   * every chain of the table to answer for one (1.67 s with a chain per Service port at 10,000
   * Services, before the flat layout, against 0.02 s; affinity Services still bring chains).
   */
  async tableExists(family: NftFamily): Promise<boolean> {
    const r = await run([...this.prefix, "nft", "list", "set", family, TABLE_NAME, NAMES.podCidrs], {
      timeoutMs: 10_000,
    });
    return r.code === 0;
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

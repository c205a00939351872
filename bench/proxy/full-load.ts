/**
 * podnet's whole table loaded three ways, for the connection-setup part (latency-bench.ts):
 *
 * - as the agent's full sync does it into an empty namespace: `KernelCommands.replaceTable` builds
 *   the table without base chains under the free one of the two names, loads most elements over
 *   netlink and swaps it in with one nft transaction (src/proxy/table-swap.ts) — `loadMs`;
 * - the same again over the live table it left, an agent restart or a resync: the atomic swap
 *   replacing a table of the same size — `replaceMs`;
 * - the one-transaction text (planText) through one `nft -f` into a fresh namespace of its own,
 *   the way every element was loaded before the netlink path — `nftFileMs`, what that path saved.
 *
 * Rendering is outside every figure, as in the iptables layout's `nft -f` load they are compared
 * with.
 */
import { deleteNetns, inNetns } from "../../src/linux/netns.ts";
import { KernelCommands } from "../../src/proxy/kernel-commands.ts";
import type { TableContent } from "../../src/proxy/table-content.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import { applyNft } from "./nft-apply.ts";

export interface FullLoad {
  /** replaceTable into the empty namespace. */
  readonly loadMs: number;
  /** replaceTable again in the same namespace, over the live table the first one left. */
  readonly replaceMs: number;
  /** `nft -f` of the one-transaction text into another fresh namespace. */
  readonly nftFileMs: number;
  /** The name podnet's table is live under after the second replaceTable. */
  readonly table: string;
}

/**
 * Loads `content` into `netns` (empty, `path` its /run/netns file, so the netlink socket reaches
 * the namespace the nft programs run in) with two replaceTable calls and checks that exactly one
 * of the table's two names is left; then times `text` (planText of the same content) through
 * `nft -f` in a namespace `${sandbox.prefix}${scratch}`, removed before this resolves.
 */
export async function measureFullLoad(
  sandbox: BenchSandbox,
  netns: { readonly name: string; readonly path: string },
  content: TableContent,
  text: string,
  scratch: string,
): Promise<FullLoad> {
  const kernel = new KernelCommands({
    prefix: inNetns(netns.name, []),
    netnsPath: netns.path,
    session: false,
  });
  let loadMs: number;
  let replaceMs: number;
  let table: string;
  try {
    const t0 = performance.now();
    const first = await kernel.replaceTable(content);
    const t1 = performance.now();
    const second = await kernel.replaceTable(content);
    replaceMs = performance.now() - t1;
    loadMs = t1 - t0;
    table = second.table;
    // Figures of nft's parser would be no figures of the netlink path.
    const fallback = first.fallback ?? second.fallback;
    if (fallback !== undefined)
      throw new Error(`podnet's full load in ${netns.name} did not use netlink: ${fallback}`);
    // A swap that left the old table, or the half-built one, behind would hold twice the elements.
    const present = await kernel.proxyTables(content.family);
    if (present.length !== 1 || present[0] !== table)
      throw new Error(
        `after replacing podnet's table twice, ${netns.name} should hold it under the one name "${table}", but has ${present.length === 0 ? "neither name" : present.map((n) => `"${n}"`).join(" and ")}`,
      );
  } finally {
    await kernel.close();
  }

  const other = sandbox.createNetns(scratch).name;
  let nftFileMs: number;
  try {
    nftFileMs = await applyNft(other, text);
  } finally {
    // Flushed now rather than by the namespace's removal, whose cleanup runs in the kernel's
    // background (cleanup_net) and would overlap the next case's load.
    await applyNft(other, "flush ruleset\n").catch(() => 0);
    deleteNetns(other);
  }
  return { loadMs, replaceMs, nftFileMs, table };
}

/**
 * Applies an `nft -f` transaction inside one of the benchmark's namespaces and times it, as the
 * proxy applies its transactions: the text goes to nft's stdin, one process per transaction. The
 * time includes starting `ip netns exec` and nft (`measureNftFloor` gives that part alone) and
 * nft reading back from the kernel what the transaction refers to.
 */
import { CommandError, run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { summarize } from "../support/stats.ts";

const APPLY_TIMEOUT_MS = 180_000;

/** Applies `text` in `netns`; resolves to the wall time in ms or throws CommandError. */
export async function applyNft(netns: string, text: string): Promise<number> {
  const argv = inNetns(netns, ["nft", "-f", "-"]);
  const start = performance.now();
  const r = await run(argv, { stdin: text, timeoutMs: APPLY_TIMEOUT_MS });
  const ms = performance.now() - start;
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr || r.stdout);
  return ms;
}

/** Medians (ms) of what every apply figure includes before nft reads its first line. */
export interface NftFloor {
  /** `ip netns exec NS true`: the launcher alone. */
  readonly netnsExecMs: number;
  /** `ip netns exec NS nft -f /dev/null`: the launcher and nft's start with nothing to do. */
  readonly nftDevNullMs: number;
  /** An empty transaction on nft's stdin, as applyNft sends them. */
  readonly nftEmptyStdinMs: number;
}

async function timed(argv: readonly string[]): Promise<number> {
  const start = performance.now();
  const r = await run(argv, { timeoutMs: 30_000 });
  const ms = performance.now() - start;
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr || r.stdout);
  return ms;
}

/**
 * The launcher and nft's own start, each the median of `samples`. The three commands take turns,
 * so a burst of load on the machine falls on all of them alike.
 */
export async function measureNftFloor(netns: string, samples: number): Promise<NftFloor> {
  const exec: number[] = [];
  const devNull: number[] = [];
  const stdin: number[] = [];
  for (let i = 0; i < samples; i++) {
    exec.push(await timed(inNetns(netns, ["true"])));
    devNull.push(await timed(inNetns(netns, ["nft", "-f", "/dev/null"])));
    stdin.push(await applyNft(netns, ""));
  }
  return {
    netnsExecMs: summarize(exec, "ip netns exec true").p50,
    nftDevNullMs: summarize(devNull, "nft -f /dev/null").p50,
    nftEmptyStdinMs: summarize(stdin, "empty nft transactions").p50,
  };
}

/** Names of the tables in `netns` (proves a transaction really installed what it said). */
export async function listTables(netns: string): Promise<string[]> {
  const argv = inNetns(netns, ["nft", "list", "tables"]);
  const r = await run(argv, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new CommandError(argv, r.code, r.stderr);
  return r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("table "))
    .map((l) => l.slice("table ".length));
}

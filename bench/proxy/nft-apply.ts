/**
 * Applies an `nft -f` transaction inside one of the benchmark's namespaces and times it, as the
 * proxy applies its transactions: the text goes to nft's stdin, one process per transaction. The
 * time includes starting `ip netns exec` and nft (`measureNftStart` gives that part alone) and
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

/** Median wall time of an empty transaction: the launcher and nft's own start-up. */
export async function measureNftStart(netns: string, samples: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) times.push(await applyNft(netns, ""));
  return summarize(times, "empty nft transactions").p50;
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

/**
 * Full and incremental sync of the proxy's ruleset, through its public API only: renderRuleset,
 * fullSync and diffRulesets, applied with `nft -f` inside a namespace of the benchmark's own.
 *
 * Full sync: per repetition a fresh namespace, a render from scratch (ruleset and transaction
 * text), and the transaction applied. Incremental sync: in the namespace of the last full sync,
 * one endpoint of one randomly chosen Service is replaced by a new pod, the ruleset re-rendered
 * with the previous one, diffed and applied — what the proxy does when one pod is rescheduled.
 */
import { deleteNetns, inNetns } from "../../src/linux/netns.ts";
import { diffRulesets, fullSync, planText } from "../../src/proxy/diff.ts";
import { KernelCommands } from "../../src/proxy/kernel-commands.ts";
import type { ProxyInput } from "../../src/proxy/ruleset.ts";
import { renderRuleset } from "../../src/proxy/ruleset.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import { lineCount, type StateSyncRun } from "./incremental-report.ts";
import { applyNft, listTables } from "./nft-apply.ts";
import { benchInput, replaceEndpoint } from "./service-input.ts";

export interface SyncOptions {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly repetitions: number;
  readonly changes: number;
  /** Unmeasured changes first, so the figures are of a warm renderer. */
  readonly warmupChanges: number;
  readonly seed: number;
}

export interface FullSyncRun {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly renderMs: readonly number[];
  readonly applyMs: readonly number[];
  readonly totalMs: readonly number[];
  readonly textBytes: number;
  readonly textLines: number;
  readonly problems: number;
}

export interface IncrementalRun {
  readonly services: number;
  /** renderRuleset with the previous ruleset, plus diffRulesets. */
  readonly renderMs: readonly number[];
  readonly applyMs: readonly number[];
  readonly totalMs: readonly number[];
  readonly transactionLines: readonly number[];
}

type Ruleset = ReturnType<typeof renderRuleset>;

export interface SyncRun {
  readonly full: FullSyncRun;
  /** The reference: renderRuleset + diffRulesets. */
  readonly incremental: IncrementalRun | null;
  /** Through ProxyState (state-sync-bench.ts), single changes and bursts; empty when not measured. */
  readonly state: readonly StateSyncRun[];
}

/**
 * Empties the namespace's ruleset before removing it: the flush is done when nft returns, while a
 * namespace's teardown runs later in a kernel worker and would take CPU from the next measurement.
 */
async function discard(netns: string): Promise<void> {
  await applyNft(netns, "flush ruleset\n");
  deleteNetns(netns);
}

export async function measureSync(
  sandbox: BenchSandbox,
  options: SyncOptions,
  progress: (message: string) => void,
): Promise<Omit<SyncRun, "state">> {
  const { services, endpointsPerService } = options;
  const nodeIP = "198.51.100.1";
  let input: ProxyInput = benchInput({ services, endpointsPerService, nodeIP });
  const renderMs: number[] = [];
  const applyMs: number[] = [];
  const totalMs: number[] = [];
  let textBytes = 0;
  let textLines = 0;
  let problems = 0;
  let kept: { netns: string; ruleset: Ruleset } | undefined;
  for (let rep = 0; rep < options.repetitions; rep++) {
    const created = sandbox.createNetns(`fs${services}-${rep}`);
    const netns = created.name;
    // As the agent applies a full sync: built beside, elements over netlink, swapped in.
    const kernel = new KernelCommands({
      prefix: inNetns(netns, []),
      netnsPath: created.path,
      session: false,
    });
    // Garbage of the previous repetition is not this one's cost.
    Bun.gc(true);
    const t0 = performance.now();
    const ruleset = renderRuleset(input);
    const plan = fullSync(ruleset);
    const t1 = performance.now();
    const outcome = await kernel.replaceTable(plan.content);
    const applied = performance.now() - t1;
    await kernel.close();
    renderMs.push(t1 - t0);
    applyMs.push(applied);
    totalMs.push(t1 - t0 + applied);
    const text = planText(plan);
    textBytes = Buffer.byteLength(text);
    textLines = lineCount(text);
    problems = ruleset.problems.length;
    if ((await listTables(netns)).length === 0)
      throw new Error(`replaceTable took the full sync of ${services} Services but ${netns} has no table`);
    progress(
      `full sync ${services} × ${endpointsPerService}: render ${(t1 - t0).toFixed(0)} ms, replaceTable ${applied.toFixed(0)} ms (${outcome.netlinkElements} elements over netlink${outcome.fallback === undefined ? "" : ` (${outcome.fallback})`}; as text ${(textBytes / 2 ** 20).toFixed(1)} MiB, ${textLines} lines)`,
    );
    if (kept !== undefined) await discard(kept.netns);
    kept = { netns, ruleset };
  }
  const full: FullSyncRun = {
    services,
    endpointsPerService,
    renderMs,
    applyMs,
    totalMs,
    textBytes,
    textLines,
    problems,
  };
  if (kept === undefined || options.changes === 0) return { full, incremental: null };

  const random = mulberry32(options.seed);
  // New pods get serials after every existing one, so each change really is a new address.
  let nextSerial = services * endpointsPerService;
  let previous = kept.ruleset;
  const inc = {
    renderMs: [] as number[],
    applyMs: [] as number[],
    totalMs: [] as number[],
    lines: [] as number[],
  };
  for (let i = 0; i < options.warmupChanges + options.changes; i++) {
    const service = Math.floor(random() * services);
    const endpoint = Math.floor(random() * endpointsPerService);
    input = replaceEndpoint(input, service, endpoint, nextSerial++);
    const t0 = performance.now();
    const next = renderRuleset(input, previous);
    const transaction = diffRulesets(previous, next);
    const t1 = performance.now();
    if (transaction.kind === "none")
      throw new Error(`replacing an endpoint of Service #${service} gave an empty transaction`);
    const applied = await applyNft(kept.netns, planText(transaction));
    previous = next;
    if (i < options.warmupChanges) continue;
    inc.renderMs.push(t1 - t0);
    inc.applyMs.push(applied);
    inc.totalMs.push(t1 - t0 + applied);
    inc.lines.push(lineCount(planText(transaction)));
  }
  await discard(kept.netns);
  return {
    full,
    incremental: {
      services,
      renderMs: inc.renderMs,
      applyMs: inc.applyMs,
      totalMs: inc.totalMs,
      transactionLines: inc.lines,
    },
  };
}

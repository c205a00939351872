/**
 * Incremental sync through the proxy's per-Service state (ProxyState, src/proxy/proxy-state.ts):
 * what a change costs when only the changed Services are looked at. In a fresh namespace, the
 * state's first update (every Service) is applied as the agent applies a full sync
 * (KernelCommands.replaceTable; the table name it resolves to goes to the state's useTable); then,
 * per apply path, single changes — one endpoint of one random Service replaced by a new pod,
 * `state.update(node, [[key, entry]])`, its partial text applied — and bursts: `burst` distinct
 * random Services with one endpoint replaced each, handed over in ONE update (what arrives within
 * one coalescing window) and applied as one transaction. The apply paths: one `nft -f -` process
 * per transaction, and one long-lived `nft -i` session (NftSession) for the whole path.
 */
import { serviceKey } from "../../src/k8s/service-model.ts";
import { deleteNetns, inNetns } from "../../src/linux/netns.ts";
import { NftSession, NftSessionUnsupportedError } from "../../src/linux/nft-session.ts";
import type { ServiceEntry } from "../../src/proxy/endpoint-index.ts";
import { KernelCommands } from "../../src/proxy/kernel-commands.ts";
import { ProxyState } from "../../src/proxy/proxy-state.ts";
import type { NodeInput, ProxyInput } from "../../src/proxy/ruleset.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import { type ApplyPath, lineCount, type StateSyncRun } from "./incremental-report.ts";
import { applyNft, listTables } from "./nft-apply.ts";
import { benchInput, distinctIndices, replaceEndpoint } from "./service-input.ts";

export interface StateSyncOptions {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly changes: number;
  readonly warmupChanges: number;
  /** Services changed in one burst (capped at the number of Services). */
  readonly burst: number;
  readonly bursts: number;
  readonly paths: readonly ApplyPath[];
  readonly seed: number;
}

type Apply = (text: string) => Promise<number>;

class Changes {
  private nextSerial: number;
  constructor(
    private input: ProxyInput,
    private readonly endpointsPerService: number,
    private readonly random: () => number,
  ) {
    // New pods get serials after every existing one, so each change really is a new address.
    this.nextSerial = input.services.length * endpointsPerService;
  }

  /** Replaces one random endpoint of each listed Service; returns the changed entries by key. */
  replace(services: readonly number[]): [string, ServiceEntry][] {
    const out: [string, ServiceEntry][] = [];
    for (const s of services) {
      const e = Math.floor(this.random() * this.endpointsPerService);
      this.input = replaceEndpoint(this.input, s, e, this.nextSerial++);
      const entry = this.input.services[s];
      if (entry === undefined) throw new RangeError(`Service #${s} is not in the benchmark's input`);
      out.push([serviceKey(entry.service), entry]);
    }
    return out;
  }
}

/**
 * Applies through the session as the proxy's KernelCommands does: a transaction too long for one
 * `nft -i` line goes to `nft -f -` instead (counted), inside the measured time.
 */
async function timedSession(
  session: NftSession,
  netns: string,
  text: string,
  fellBack: () => void,
): Promise<number> {
  const start = performance.now();
  try {
    await session.apply(text);
  } catch (e) {
    if (!(e instanceof NftSessionUnsupportedError)) throw e;
    fellBack();
    await applyNft(netns, text);
  }
  return performance.now() - start;
}

export async function measureStateSync(
  sandbox: BenchSandbox,
  options: StateSyncOptions,
  progress: (message: string) => void,
): Promise<StateSyncRun[]> {
  const { services, endpointsPerService } = options;
  const { services: entries, ...node }: ProxyInput = benchInput({
    services,
    endpointsPerService,
    nodeIP: "198.51.100.1",
  });
  const nodeInput: NodeInput = node;
  const { name: netns, path: netnsPath } = sandbox.createNetns(`st${services}`);
  const random = mulberry32(options.seed);
  const changes = new Changes({ ...node, services: entries }, endpointsPerService, random);
  const state = new ProxyState("ip");
  Bun.gc(true);
  const t0 = performance.now();
  const first = state.update(
    nodeInput,
    entries.map((e): [string, ServiceEntry] => [serviceKey(e.service), e]),
  );
  const t1 = performance.now();
  if (first.kind !== "full")
    throw new Error(`ProxyState's first update gave a "${first.kind}" sync, not a full one`);
  const kernel = new KernelCommands({ prefix: inNetns(netns, []), netnsPath, session: false });
  const t2 = performance.now();
  const { table } = await kernel.replaceTable(first.content);
  const fullApply = performance.now() - t2;
  state.useTable(table);
  if (!(await listTables(netns)).includes(`${first.content.family} ${table}`))
    throw new Error(
      `replaceTable loaded ProxyState's full sync of ${services} Services as "${table}" but ${netns} has no such table`,
    );
  progress(
    `ProxyState full sync ${services}: update ${(t1 - t0).toFixed(0)} ms, replaceTable (as the agent) ${fullApply.toFixed(0)} ms`,
  );

  const runs: StateSyncRun[] = [];
  let fallbacks = 0;
  const measure = async (path: ApplyPath, apply: Apply, perSync: number, syncs: number, warmup: number) => {
    fallbacks = 0;
    const run = {
      renderMs: [] as number[],
      applyMs: [] as number[],
      totalMs: [] as number[],
      lines: [] as number[],
    };
    for (let i = 0; i < warmup + syncs; i++) {
      const picked =
        perSync === 1 ? [Math.floor(random() * services)] : distinctIndices(services, perSync, random);
      const changed = changes.replace(picked);
      const s0 = performance.now();
      const plan = state.update(nodeInput, changed);
      const s1 = performance.now();
      if (plan.kind !== "partial")
        throw new Error(`ProxyState gave a "${plan.kind}" sync for ${changed.length} changed Service(s)`);
      const applied = await apply(plan.text);
      if (i < warmup) {
        fallbacks = 0;
        continue;
      }
      run.renderMs.push(s1 - s0);
      run.applyMs.push(applied);
      run.totalMs.push(s1 - s0 + applied);
      run.lines.push(lineCount(plan.text));
    }
    runs.push({
      services,
      path,
      changes: perSync,
      renderMs: run.renderMs,
      applyMs: run.applyMs,
      totalMs: run.totalMs,
      transactionLines: run.lines,
      fallbacks,
    });
  };

  try {
    for (const path of options.paths) {
      const session = path === "nft -i" ? new NftSession({ prefix: inNetns(netns, []) }) : undefined;
      const apply: Apply =
        session === undefined
          ? (text) => applyNft(netns, text)
          : (text) =>
              timedSession(session, netns, text, () => {
                fallbacks++;
              });
      try {
        await session?.start();
        if (options.changes > 0) await measure(path, apply, 1, options.changes, options.warmupChanges);
        if (options.bursts > 0)
          await measure(path, apply, Math.min(options.burst, services), options.bursts, 1);
      } finally {
        await session?.close();
      }
    }
  } finally {
    await applyNft(netns, "flush ruleset\n").catch(() => 0);
    deleteNetns(netns);
  }
  return runs;
}

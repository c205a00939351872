/**
 * Block claims from several processes at once, as agents starting together on many machines make
 * them, and the check every claim test ends with: no two blocks overlap.
 */

import { pollUntil } from "../../../src/base/poll-until.ts";
import type { IPPrefix } from "../../../src/ipnet/prefix.ts";
import { parsePrefix, prefixesOverlap } from "../../../src/ipnet/prefix.ts";
import { REPO } from "../../../testkit/podnet-build.ts";

/** Every pair of the given blocks that overlap (the same block twice included), as "a ∩ b". */
export function overlappingBlocks(blocks: readonly string[]): string[] {
  const parsed = blocks.map((b) => parsePrefix(b));
  const pairs: string[] = [];
  for (let i = 0; i < parsed.length; i++)
    for (let j = i + 1; j < parsed.length; j++)
      if (prefixesOverlap(parsed[i] as IPPrefix, parsed[j] as IPPrefix))
        pairs.push(`${blocks[i]} ∩ ${blocks[j]}`);
  return pairs;
}

export interface WorkerClaim {
  readonly node: string;
  readonly lease: string;
  readonly blocks: readonly string[];
}

export interface ClaimWorkersOptions {
  /** One `--datastore` spec per client; clients are spread over the worker processes. */
  readonly clientSpecs: readonly string[];
  readonly nodes: readonly string[];
  readonly processes: number;
  readonly leaseTtl?: number;
}

/**
 * Claims one block per node from several processes at once, each holding several datastore
 * clients, as agents starting together on many machines do. A barrier makes the claims overlap:
 * every process opens its clients and grants its leases, says "ready", and claims only once all
 * of them are ready. Throws when a process fails (a claim error included).
 */
export async function claimInWorkers(o: ClaimWorkersOptions): Promise<WorkerClaim[]> {
  const src = `${REPO}/src`;
  const script = `
    import { claimBlocks } from "${src}/cluster/block-leases.ts";
    import { readClusterConfig } from "${src}/cluster/cluster-config-store.ts";
    import { formatPrefix } from "${src}/ipnet/prefix.ts";
    import { openStore } from "${src}/store/open-store.ts";
    const job = JSON.parse(process.env.PNTEST_CLAIM_JOB);
    const stores = await Promise.all(job.specs.map((s) => openStore(s)));
    const config = await readClusterConfig(stores[0]);
    if (!config) throw new Error("no cluster config");
    const client = (i) => stores[i % stores.length];
    const leases = await Promise.all(job.nodes.map((_, i) => client(i).grantLease(job.ttl)));
    console.log("ready");
    for await (const line of console) if (line.trim() === "go") break;
    const out = await Promise.all(job.nodes.map(async (node, i) => {
      const blocks = await claimBlocks(client(i), config, node, leases[i].id);
      return { node, lease: leases[i].id, blocks: blocks.map(formatPrefix) };
    }));
    await Promise.all(stores.map((s) => s.close()));
    console.log(JSON.stringify(out));
  `;
  const workers = Array.from({ length: o.processes }, (_, p) => {
    const job = {
      specs: o.clientSpecs.filter((_, i) => i % o.processes === p),
      nodes: o.nodes.filter((_, i) => i % o.processes === p),
      ttl: o.leaseTtl ?? 60,
    };
    const proc = Bun.spawn([process.execPath, "-e", script], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, PNTEST_CLAIM_JOB: JSON.stringify(job) },
    });
    const worker = { proc, out: "", done: Promise.resolve() };
    worker.done = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) worker.out += decoder.decode(chunk, { stream: true });
    })();
    return worker;
  });
  const failed = async () => {
    for (const [p, w] of workers.entries()) {
      if (w.proc.exitCode !== null && w.proc.exitCode !== 0)
        return `claim worker ${p} failed (exit ${w.proc.exitCode}): ${(await new Response(w.proc.stderr).text()).trim()}`;
    }
    return undefined;
  };
  try {
    await pollUntil(
      "every claim worker to be ready",
      async () => {
        const problem = await failed();
        if (problem) throw new Error(problem);
        return workers.every((w) => w.out.startsWith("ready\n"));
      },
      30_000,
    );
    for (const w of workers) {
      w.proc.stdin.write("go\n");
      w.proc.stdin.flush();
    }
    await Promise.all(workers.map((w) => Promise.race([w.proc.exited, Bun.sleep(60_000)])));
    const problem = await failed();
    if (problem) throw new Error(problem);
    await Promise.all(workers.map((w) => w.done));
    return workers.flatMap((w) => JSON.parse(w.out.slice("ready\n".length)) as WorkerClaim[]);
  } finally {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
  }
}

/**
 * Block-lease throughput: N agents claim their node block at the same moment against an etcd
 * cluster, each through its own client (its own gRPC connections), the way N agents booting
 * together would: grant a TTL lease, then claimBlocks (list, pick among free blocks at random,
 * compare-and-swap create; on a lost race list again). Afterwards the datastore is read back
 * with a separate client to prove every agent holds exactly one block and no block is held twice.
 */
import { claimBlocks, listBlockLeases } from "../../src/cluster/block-leases.ts";
import { CONFIG_KEY } from "../../src/cluster/keys.ts";
import { buildClusterConfig } from "../../src/ipam/cluster-config.ts";
import { formatPrefix } from "../../src/ipnet/prefix.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { Store } from "../../src/store/store.ts";

export interface LeaseOptions {
  readonly agents: number;
  readonly rounds: number;
  readonly ttlSeconds: number;
  readonly clusterCidr: string;
}

export interface LeaseClaim {
  readonly node: string;
  readonly block: string;
  readonly grantMs: number;
  /** claimBlocks alone, from its first list to its winning compare-and-swap. */
  readonly claimMs: number;
  /** Compare-and-swap transactions that lost a race (another agent took the block first). */
  readonly conflicts: number;
}

export interface LeaseVerification {
  readonly ok: boolean;
  readonly claims: number;
  readonly distinctBlocks: number;
  /** Block keys found in etcd afterwards, and how many distinct nodes hold them. */
  readonly keysInStore: number;
  readonly nodesInStore: number;
  readonly problems: readonly string[];
}

export interface LeaseRound {
  /** First grant to last claim, all agents together. */
  readonly seconds: number;
  /** One get per client before the clock starts (opens its connection), ms. */
  readonly connectMs: readonly number[];
  readonly claims: readonly LeaseClaim[];
  readonly verification: LeaseVerification;
}

/** Counts compare-and-swap transactions that did not succeed, without changing anything else. */
function countingConflicts(store: Store): { store: Store; conflicts: () => number } {
  let conflicts = 0;
  const wrapped = new Proxy(store, {
    get(target, prop) {
      if (prop === "txn") {
        return async (...args: Parameters<Store["txn"]>) => {
          const r = await target.txn(...args);
          if (!r.succeeded) conflicts++;
          return r;
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, conflicts: () => conflicts };
}

async function verify(
  checker: Store,
  claims: readonly LeaseClaim[],
  expected: number,
): Promise<LeaseVerification> {
  const problems: string[] = [];
  const blocks = new Set(claims.map((c) => c.block));
  if (claims.length !== expected) problems.push(`${expected - claims.length} agent(s) got no block`);
  if (blocks.size !== claims.length)
    problems.push(`${claims.length - blocks.size} block(s) handed out twice`);
  const { leases } = await listBlockLeases(checker);
  const nodes = new Set(leases.map((l) => l.node));
  if (leases.length !== claims.length)
    problems.push(`etcd holds ${leases.length} block keys for ${claims.length} claims`);
  if (nodes.size !== leases.length)
    problems.push(`${leases.length - nodes.size} node(s) hold more than one block`);
  for (const l of leases) {
    const c = claims.find((x) => x.node === l.node);
    if (!c || c.block !== formatPrefix(l.block))
      problems.push(
        `etcd says ${formatPrefix(l.block)} belongs to ${l.node}, which claimed ${c?.block ?? "nothing"}`,
      );
  }
  return {
    ok: problems.length === 0,
    claims: claims.length,
    distinctBlocks: blocks.size,
    keysInStore: leases.length,
    nodesInStore: nodes.size,
    problems: problems.slice(0, 10),
  };
}

async function oneRound(
  spec: string,
  round: number,
  options: LeaseOptions,
  fail: (message: string) => void,
): Promise<LeaseRound> {
  const config = buildClusterConfig({ clusterCidrs: [options.clusterCidr] });
  const clients = await Promise.all(
    Array.from({ length: options.agents }, async () => countingConflicts(await openStore(spec))),
  );
  const checker = await openStore(spec);
  const leaseIds: { store: Store; id: string }[] = [];
  try {
    const connectMs = await Promise.all(
      clients.map(async (c) => {
        const t = performance.now();
        await c.store.get(CONFIG_KEY);
        return performance.now() - t;
      }),
    );
    const claims: LeaseClaim[] = [];
    const started = performance.now();
    await Promise.all(
      clients.map(async (c, i) => {
        const node = `bench-r${round}-n${i}`;
        try {
          const t0 = performance.now();
          const lease = await c.store.grantLease(options.ttlSeconds);
          leaseIds.push({ store: c.store, id: lease.id });
          const t1 = performance.now();
          const blocks = await claimBlocks(c.store, config, node, lease.id);
          const t2 = performance.now();
          if (blocks.length !== 1) throw new Error(`got ${blocks.length} blocks, expected 1`);
          claims.push({
            node,
            block: formatPrefix(blocks[0] as (typeof blocks)[number]),
            grantMs: t1 - t0,
            claimMs: t2 - t1,
            conflicts: c.conflicts(),
          });
        } catch (e) {
          fail(`block claim of ${node}: ${(e as Error).message}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const verification = await verify(checker, claims, options.agents);
    for (const p of verification.problems) fail(`block leases round ${round}: ${p}`);
    return { seconds, connectMs, claims, verification };
  } finally {
    // Revoking a lease deletes its block: the next round starts from an empty block space.
    await Promise.all(leaseIds.map((l) => l.store.revoke(l.id).catch(() => undefined)));
    await Promise.all([...clients.map((c) => c.store.close()), checker.close()]);
  }
}

export async function measureBlockLeases(
  spec: string,
  options: LeaseOptions,
  fail: (message: string) => void,
  progress: (message: string) => void,
): Promise<LeaseRound[]> {
  const rounds: LeaseRound[] = [];
  // Round 0 is not measured: a fresh etcd allocates its WAL and the clients open their
  // connections to the other members on first use; that start-up cost is no part of the claims.
  for (let r = 0; r <= options.rounds; r++) {
    const round = await oneRound(spec, r, options, fail);
    const conflicts = round.claims.reduce((s, c) => s + c.conflicts, 0);
    const what = r === 0 ? "block leases warm-up round" : `block leases round ${r}/${options.rounds}`;
    progress(
      `${what}: ${round.claims.length} blocks in ${round.seconds.toFixed(3)} s, ${conflicts} lost races, ${round.verification.ok ? "verified distinct" : "VERIFICATION FAILED"}`,
    );
    if (r > 0) rounds.push(round);
  }
  return rounds;
}

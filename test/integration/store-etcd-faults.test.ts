/**
 * A three-member etcd cluster losing members under load. Agents claim blocks `/blocks/N` by
 * compare-and-swap, as the cluster block allocator does: with one member killed they carry on;
 * with two killed every operation fails within seconds with "datastore unavailable" and a
 * multi-key transaction leaves nothing half-written; once the members return, work resumes and
 * no block has two owners. A watch runs through all of it and must miss nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { EtcdMember } from "../../src/linux/etcd-process.ts";
import type { Store, WatchEvent } from "../../src/store/store.ts";
import { DatastoreUnavailableError } from "../../src/store/store.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { type EtcdBackend, etcdBackend, uniquePrefix } from "./harness/store-backends.ts";

const RANGE = 400;

/** One allocating client, like a node agent leasing blocks. */
class Agent {
  readonly owned = new Set<number>();
  /** Claims whose outcome the datastore could not tell us (the call failed mid-flight). */
  unknownOutcomes = 0;

  constructor(
    readonly name: string,
    readonly store: Store,
    private readonly blocks: string,
    private readonly rand: () => number,
  ) {}

  async allocate(deadline: number): Promise<number> {
    for (;;) {
      if (Date.now() > deadline)
        throw new Error(`${this.name} could not allocate a block before the deadline`);
      const n = Math.floor(this.rand() * RANGE);
      if (this.owned.has(n)) continue;
      const key = `${this.blocks}${n}`;
      try {
        const r = await this.store.txn(
          [{ key, target: "version", op: "=", value: 0 }],
          [{ kind: "put", key, value: this.name }],
        );
        if (r.succeeded) {
          this.owned.add(n);
          return n;
        }
      } catch (e) {
        if (!(e instanceof DatastoreUnavailableError)) throw e;
        this.unknownOutcomes++;
        // What an allocator must do after an unknown outcome: read back whether the claim landed.
        if (await this.landed(key, deadline)) {
          this.owned.add(n);
          return n;
        }
      }
    }
  }

  async allocateMany(count: number, deadline: number, pauseMs: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await this.allocate(deadline);
      await Bun.sleep(pauseMs);
    }
  }

  private async landed(key: string, deadline: number): Promise<boolean> {
    for (;;) {
      try {
        return (await this.store.get(key))?.value === this.name;
      } catch (e) {
        if (!(e instanceof DatastoreUnavailableError) || Date.now() > deadline) throw e;
        await Bun.sleep(100);
      }
    }
  }
}

async function isLeader(member: EtcdMember): Promise<boolean> {
  if (!member.running) return false;
  try {
    const res = await fetch(`http://${member.endpoint}/metrics`, { signal: AbortSignal.timeout(2000) });
    return /^etcd_server_is_leader 1$/m.test(await res.text());
  } catch {
    return false;
  }
}

async function leaderOf(members: readonly EtcdMember[]): Promise<EtcdMember> {
  const { value } = await pollUntil("a leader", async () => {
    for (const m of members) if (await isLeader(m)) return m;
    return undefined;
  });
  return value;
}

async function timedFailure(
  what: string,
  call: () => Promise<unknown>,
): Promise<{ what: string; ms: number; error: unknown }> {
  const t0 = Date.now();
  try {
    await call();
    return { what, ms: Date.now() - t0, error: undefined };
  } catch (error) {
    return { what, ms: Date.now() - t0, error };
  }
}

describe("etcd with three members under faults", () => {
  let backend: EtcdBackend | undefined;

  beforeAll(async () => {
    backend = await etcdBackend(3);
  }, 60_000);

  afterAll(async () => {
    await backend?.dispose();
  }, 30_000);

  test("allocations survive one lost member, fail cleanly without quorum, and resume without duplicates", async () => {
    if (!backend) throw new Error("no backend");
    const { cluster } = backend;
    const p = uniquePrefix("faults");
    const blocks = `${p}blocks/`;
    const stores = await Promise.all([0, 1, 2, 3].map(() => backend?.open() as Promise<Store>));
    const agents = stores.map((s, i) => new Agent(`agent-${i}`, s, blocks, mulberry32(1000 + i)));
    const owned = () => agents.reduce((sum, a) => sum + a.owned.size, 0);

    const watcher = stores[0] as Store;
    const events: WatchEvent[] = [];
    const watchErrors: Error[] = [];
    const watch = watcher.watch(blocks, {
      fromRevision: (await watcher.list(blocks)).revision + 1,
      onEvents: (es) => events.push(...es),
      onError: (e) => watchErrors.push(e),
    });
    const lease = await watcher.grantLease(60);

    // Healthy cluster.
    await Promise.all(agents.map((a) => a.allocateMany(5, Date.now() + 20_000, 0)));
    expect(owned()).toBe(20);

    // Kill the leader in the middle of a round of allocations: they must all complete.
    const round = Promise.all(agents.map((a) => a.allocateMany(10, Date.now() + 30_000, 25)));
    await pollUntil("allocations to be under way", () => (owned() >= 28 ? true : undefined));
    const firstVictim = await leaderOf(cluster.members);
    await cluster.stop(firstVictim, "SIGKILL");
    const atKill = owned();
    await round;
    expect(owned()).toBe(60);
    expect(60 - atKill).toBeGreaterThanOrEqual(8);

    // Quorum lost: everything fails fast, clearly, and the multi-key transaction not at all.
    const secondVictim = await leaderOf(cluster.members.filter((m) => m !== firstVictim));
    await cluster.stop(secondVictim, "SIGKILL");
    const survivor = stores[1] as Store;
    const multi = [`${p}multi/a`, `${p}multi/b`, `${p}multi/c`];
    const outcomes = await Promise.all([
      timedFailure("put", () => survivor.put(`${p}during`, "x")),
      timedFailure("get", () => survivor.get(`${blocks}0`)),
      timedFailure("list", () => survivor.list(blocks)),
      timedFailure("grantLease", () => survivor.grantLease(10)),
      timedFailure("keepAlive", () => survivor.keepAlive(lease.id)),
      timedFailure("multi-key txn", () =>
        survivor.txn(
          [{ key: multi[0] as string, target: "version", op: "=", value: 0 }],
          multi.map((key) => ({ kind: "put" as const, key, value: "all-or-nothing" })),
        ),
      ),
      timedFailure("allocate", () =>
        (agents[2] as Agent).store.txn([], [{ kind: "put", key: `${blocks}x`, value: "x" }]),
      ),
    ]);
    for (const o of outcomes) {
      expect({ what: o.what, unavailable: o.error instanceof DatastoreUnavailableError }).toEqual({
        what: o.what,
        unavailable: true,
      });
      expect(String(o.error)).toMatch(/datastore unavailable/i);
      expect({ what: o.what, fast: o.ms < 6000 }).toEqual({ what: o.what, fast: true });
    }

    // The members return: work resumes.
    await Promise.all([cluster.start(firstVictim), cluster.start(secondVictim)]);
    const written = (await survivor.list(`${p}multi/`)).kvs;
    expect([0, multi.length]).toContain(written.length);
    await Promise.all(agents.map((a) => a.allocateMany(5, Date.now() + 30_000, 0)));
    expect(owned()).toBe(80);

    // Consistency: every block an agent believes it owns is stored with that agent, no block
    // is believed by two agents, and unclaimed leftovers come only from unknown outcomes.
    const stored = new Map(
      (await survivor.list(blocks)).kvs
        .filter((kv) => /\/\d+$/.test(kv.key))
        .map((kv) => [Number(kv.key.slice(blocks.length)), kv.value]),
    );
    const believers = new Map<number, string[]>();
    for (const a of agents) {
      for (const n of a.owned) {
        expect({ block: n, owner: stored.get(n) }).toEqual({ block: n, owner: a.name });
        believers.set(n, [...(believers.get(n) ?? []), a.name]);
      }
    }
    expect([...believers.values()].filter((names) => names.length > 1)).toEqual([]);
    const unknown = agents.reduce((sum, a) => sum + a.unknownOutcomes, 0);
    expect(stored.size - believers.size).toBeLessThanOrEqual(unknown);

    // The watch reconnected on its own and saw every block created exactly once.
    await pollUntil("the watch to catch up", () => {
      if (watchErrors.length > 0) throw watchErrors[0];
      const seen = new Set(events.filter((e) => e.type === "put").map((e) => e.kv.key));
      return [...stored.keys()].every((n) => seen.has(`${blocks}${n}`)) ? true : undefined;
    });
    watch.close();
    const creations = events.flatMap((e) => (e.type === "put" && e.kv.version === 1 ? [e.kv.key] : []));
    expect(creations.length).toBe(new Set(creations).size);
    const revisions = events.map((e) => e.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  }, 100_000);
});

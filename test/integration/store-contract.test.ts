/**
 * One contract suite, run unchanged against every engine: SQLite (a temp file), etcd with one
 * member and etcd with three members (real servers on loopback). Each test works under its own
 * random key prefix, so the tests share one datastore per engine without seeing each other.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Compare, Store, TxnOp, Watch, WatchEvent } from "../../src/store/store.ts";
import {
  CompactedError,
  DatastoreUnavailableError,
  InvalidStoreArgumentError,
  LeaseNotFoundError,
} from "../../src/store/store.ts";
import {
  etcdBackend,
  mulberry32,
  type StoreBackend,
  sqliteBackend,
  uniquePrefix,
  waitFor,
} from "./store-backends.ts";
import { StoreModel } from "./store-model.ts";

interface Collected {
  readonly events: WatchEvent[];
  readonly batches: WatchEvent[][];
  readonly errors: Error[];
  readonly watch: Watch;
}

function collect(store: Store, prefix: string, fromRevision: number): Collected {
  const events: WatchEvent[] = [];
  const batches: WatchEvent[][] = [];
  const errors: Error[] = [];
  const watch = store.watch(prefix, {
    fromRevision,
    onEvents: (es) => {
      batches.push([...es]);
      events.push(...es);
    },
    onError: (e) => errors.push(e),
  });
  return { events, batches, errors, watch };
}

function eventsSettled(c: Collected, count: number): true | undefined {
  if (c.errors.length > 0) throw c.errors[0];
  return c.events.length >= count ? true : undefined;
}

/**
 * The rejection of `promise`. (Bun's `await expect(call()).rejects` was seen to leave a gRPC
 * call started inside it unanswered until its deadline; awaiting it here does not.)
 */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
  throw new Error("expected the call to fail, but it succeeded");
}

const versionIs0 = (key: string): Compare => ({ key, target: "version", op: "=", value: 0 });

const BACKENDS: ReadonlyArray<{ name: string; make: () => Promise<StoreBackend> }> = [
  { name: "sqlite", make: async () => sqliteBackend() },
  { name: "etcd (1 member)", make: () => etcdBackend(1) },
  { name: "etcd (3 members)", make: () => etcdBackend(3) },
];

for (const { name, make } of BACKENDS) {
  describe(`Store contract on ${name}`, () => {
    let backend: StoreBackend | undefined;
    let store: Store;

    beforeAll(async () => {
      backend = await make();
      store = await backend.open();
    }, 60_000);

    afterAll(async () => {
      await backend?.dispose();
    }, 30_000);

    test("put, get, list and delete keep revisions and versions", async () => {
      const p = uniquePrefix("kv");
      const r1 = await store.put(`${p}a`, "1");
      expect(await store.get(`${p}a`)).toEqual({
        key: `${p}a`,
        value: "1",
        createRevision: r1,
        modRevision: r1,
        version: 1,
      });
      const r2 = await store.put(`${p}a`, "2");
      expect(r2).toBe(r1 + 1);
      expect(await store.get(`${p}a`)).toEqual({
        key: `${p}a`,
        value: "2",
        createRevision: r1,
        modRevision: r2,
        version: 2,
      });
      const r3 = await store.put(`${p}b`, "ü 🙂");
      // A sibling that shares the prefix's text but not the prefix itself.
      await store.put(`${p.slice(0, -1)}0`, "outside");
      const listed = await store.list(p);
      expect(listed.kvs.map((kv) => [kv.key, kv.value])).toEqual([
        [`${p}a`, "2"],
        [`${p}b`, "ü 🙂"],
      ]);
      expect(listed.revision).toBe(r3 + 1);

      expect(await store.delete(`${p}a`)).toBe(true);
      const afterDelete = (await store.list(p)).revision;
      expect(afterDelete).toBe(r3 + 2);
      expect(await store.delete(`${p}a`)).toBe(false);
      expect((await store.list(p)).revision).toBe(afterDelete);
      expect(await store.get(`${p}a`)).toBeUndefined();

      const r4 = await store.put(`${p}a`, "again");
      expect(await store.get(`${p}a`)).toMatchObject({ createRevision: r4, modRevision: r4, version: 1 });
      expect(await store.get(`${p}missing`)).toBeUndefined();
    });

    test("transactions compare and swap, and run the failure branch when a compare fails", async () => {
      const p = uniquePrefix("txn");
      const block = `${p}blocks/7`;
      const create = (owner: string) =>
        store.txn(
          [versionIs0(block)],
          [{ kind: "put", key: block, value: owner }],
          [{ kind: "put", key: `${p}lost/${owner}`, value: "1" }],
        );
      const first = await create("node-a");
      expect(first.succeeded).toBe(true);
      expect(await store.get(block)).toMatchObject({
        value: "node-a",
        modRevision: first.revision,
        version: 1,
      });
      const second = await create("node-b");
      expect(second.succeeded).toBe(false);
      expect(second.revision).toBe(first.revision + 1);
      expect((await store.get(block))?.value).toBe("node-a");
      expect((await store.get(`${p}lost/node-b`))?.value).toBe("1");

      const current = await store.get(block);
      const mod = current?.modRevision ?? -1;
      const update = await store.txn(
        [{ key: block, target: "modRevision", op: "=", value: mod }],
        [{ kind: "put", key: block, value: "node-a2" }],
      );
      expect(update.succeeded).toBe(true);
      const stale = await store.txn(
        [{ key: block, target: "modRevision", op: "=", value: mod }],
        [{ kind: "put", key: block, value: "node-c" }],
      );
      expect(stale.succeeded).toBe(false);
      expect(stale.revision).toBe(update.revision);
      expect(await store.get(block)).toMatchObject({ value: "node-a2", version: 2 });

      const multi = await store.txn(
        [{ key: `${p}m1`, target: "createRevision", op: "=", value: 0 }],
        [
          { kind: "put", key: `${p}m1`, value: "1" },
          { kind: "put", key: `${p}m2`, value: "2" },
          { kind: "delete", key: block },
        ],
      );
      expect(multi.succeeded).toBe(true);
      expect((await store.get(`${p}m1`))?.modRevision).toBe(multi.revision);
      expect((await store.get(`${p}m2`))?.modRevision).toBe(multi.revision);
      expect(await store.get(block)).toBeUndefined();

      // etcd's rule: a value compare on a missing key fails whatever the operator.
      const onMissing = await store.txn(
        [{ key: `${p}nope`, target: "value", op: "!=", value: "x" }],
        [{ kind: "put", key: `${p}should-not`, value: "1" }],
      );
      expect(onMissing.succeeded).toBe(false);
      expect(await store.get(`${p}should-not`)).toBeUndefined();

      await store.put(`${p}v`, "b");
      const valueCompare = async (op: Compare["op"], value: string) =>
        (await store.txn([{ key: `${p}v`, target: "value", op, value }], [])).succeeded;
      expect(await valueCompare(">", "a")).toBe(true);
      expect(await valueCompare("<", "a")).toBe(false);
      expect(await valueCompare("=", "b")).toBe(true);
      expect(await valueCompare("<", "é")).toBe(true);
      expect((await store.txn([{ key: `${p}v`, target: "version", op: ">", value: 0 }], [])).succeeded).toBe(
        true,
      );
    });

    test("random operation sequences agree with a reference model", async () => {
      for (const seed of [1, 2, 3]) {
        const rand = mulberry32(seed * 7919);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
        const p = uniquePrefix(`model${seed}`);
        const keys = ["a", "b", "c", "d", "e", "é", "🙂"].map((k) => `${p}${k}`);
        const values = ["", "x", "y", "zz", "ß", "🙂"];
        const model = new StoreModel((await store.list(p)).revision);
        const randomOps = (max: number): TxnOp[] => {
          const chosen = [
            ...new Set(Array.from({ length: Math.floor(rand() * (max + 1)) }, () => pick(keys))),
          ];
          return chosen.map((key) =>
            rand() < 0.7 ? { kind: "put", key, value: pick(values) } : { kind: "delete", key },
          );
        };
        for (let step = 0; step < 60; step++) {
          const where = `seed ${seed} step ${step}`;
          const r = rand();
          const key = pick(keys);
          if (r < 0.3) {
            const value = pick(values);
            expect({ where, rev: await store.put(key, value) }).toEqual({
              where,
              rev: model.put(key, value),
            });
          } else if (r < 0.45) {
            expect({ where, existed: await store.delete(key) }).toEqual({
              where,
              existed: model.delete(key),
            });
          } else if (r < 0.6) {
            expect({ where, kv: await store.get(key) }).toEqual({ where, kv: model.get(key) });
          } else {
            const known = model.get(key);
            const compare: Compare =
              rand() < 0.25
                ? { key, target: "value", op: pick(["=", "!=", "<", ">"] as const), value: pick(values) }
                : {
                    key,
                    target: pick(["version", "createRevision", "modRevision"] as const),
                    op: pick(["=", "!=", "<", ">"] as const),
                    value: pick([
                      0,
                      1,
                      known?.version ?? 0,
                      known?.modRevision ?? 0,
                      known?.createRevision ?? 0,
                    ]),
                  };
            const success = randomOps(3);
            const failure = randomOps(2);
            expect({ where, result: await store.txn([compare], success, failure) }).toEqual({
              where,
              result: model.txn([compare], success, failure),
            });
          }
        }
        const listed = await store.list(p);
        expect(listed.kvs).toEqual(model.list(p));
        expect(listed.revision).toBe(model.revision);
      }
    });

    test("reads and transactions through any server see every write that finished before them", async () => {
      if (!backend) throw new Error("no backend");
      const clients = await backend.openEach();
      const p = uniquePrefix("linearizable");
      const stale: string[] = [];
      // A follower learns of a commit a moment after the leader has answered the writer: ask
      // right away, many times, through every other server.
      for (let round = 0; round < 25; round++) {
        for (const [w, writer] of clients.entries()) {
          for (const [r, reader] of clients.entries()) {
            if (w === r) continue;
            const key = `${p}${round}-${w}-${r}`;
            const where = `round ${round}, written via ${w}, read via ${r}`;
            const written = await writer.put(key, "1");
            const noOps = await reader.txn([{ key, target: "modRevision", op: "=", value: written }], []);
            if (!noOps.succeeded || noOps.revision < written)
              stale.push(`${where}: op-less txn ${JSON.stringify(noOps)}`);
            const deleted = await writer.delete(key);
            const noChange = await reader.txn(
              [{ key, target: "version", op: "=", value: 0 }],
              [{ kind: "delete", key }],
            );
            if (!deleted || !noChange.succeeded || noChange.revision < written + 1) {
              stale.push(
                `${where}: no-change txn ${JSON.stringify(noChange)} after delete at ${written + 1}`,
              );
            }
            const again = await writer.put(key, "2");
            const got = await reader.get(key);
            if (got?.modRevision !== again)
              stale.push(`${where}: get ${JSON.stringify(got)}, wrote at ${again}`);
            const listed = await reader.list(key);
            if (listed.revision < again)
              stale.push(`${where}: list at ${listed.revision}, wrote at ${again}`);
          }
        }
      }
      expect(stale).toEqual([]);
      await Promise.all(clients.map((c) => c.close()));
    }, 60_000);

    test("leases: keys vanish after the TTL, keepAlive keeps them, revoke deletes them", async () => {
      const p = uniquePrefix("lease");
      const start = (await store.list(p)).revision + 1;
      const seen = collect(store, p, start);
      const t0 = Date.now();
      const [a, b, c] = await Promise.all([store.grantLease(2), store.grantLease(2), store.grantLease(2)]);
      if (!a || !b || !c) throw new Error("grantLease returned nothing");
      expect(a.ttlSeconds).toBeGreaterThanOrEqual(2);
      expect(new Set([a.id, b.id, c.id]).size).toBe(3);
      await store.put(`${p}a1`, "1", { lease: a.id });
      await store.txn([], [{ kind: "put", key: `${p}a2`, value: "2", lease: a.id }]);
      await store.put(`${p}b`, "1", { lease: b.id });
      await store.put(`${p}c`, "1", { lease: c.id });
      expect((await store.get(`${p}a1`))?.lease).toBe(a.id);

      const keeperErrors: unknown[] = [];
      const keeper = setInterval(() => store.keepAlive(b.id).catch((e) => keeperErrors.push(e)), 400);
      try {
        await store.revoke(c.id);
        expect(await store.get(`${p}c`)).toBeUndefined();

        await waitFor("the expired lease's keys to vanish", async () =>
          (await store.list(`${p}a`)).kvs.length === 0 ? true : undefined,
        );
        expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
        expect(await failure(store.keepAlive(a.id))).toBeInstanceOf(LeaseNotFoundError);
        expect(await failure(store.put(`${p}late`, "1", { lease: a.id }))).toBeInstanceOf(LeaseNotFoundError);

        await Bun.sleep(Math.max(0, 3500 - (Date.now() - t0)));
        expect((await store.get(`${p}b`))?.value).toBe("1");
      } finally {
        clearInterval(keeper);
      }
      expect(keeperErrors).toEqual([]);
      await store.revoke(b.id);
      expect(await store.get(`${p}b`)).toBeUndefined();
      expect(await failure(store.keepAlive(b.id))).toBeInstanceOf(LeaseNotFoundError);
      await store.revoke(a.id);
      await store.revoke("1234567");
      expect(await failure(store.put(`${p}x`, "1", { lease: "7654321" }))).toBeInstanceOf(LeaseNotFoundError);

      // 4 puts, then deletes of c (revoke), a1 + a2 (expiry) and b (revoke).
      await waitFor("the watch to see every lease deletion", () => eventsSettled(seen, 8));
      seen.watch.close();
      const deleted = seen.events.filter((e) => e.type === "delete").map((e) => e.key);
      expect(deleted.sort()).toEqual([`${p}a1`, `${p}a2`, `${p}b`, `${p}c`]);
    }, 30_000);

    test("watch delivers puts and deletes under the prefix in order, one batch per transaction", async () => {
      const p = uniquePrefix("watch");
      const start = (await store.list(p)).revision + 1;
      const seen = collect(store, p, start);
      await store.put(`${p}a`, "1");
      await store.put(`${p}b`, "2");
      await store.put(`${p}a`, "3");
      await store.put(`${p.slice(0, -1)}-other`, "not mine");
      await store.delete(`${p}b`);
      const txn = await store.txn(
        [],
        [
          { kind: "put", key: `${p}c`, value: "4" },
          { kind: "put", key: `${p}d`, value: "5" },
          { kind: "delete", key: `${p}a` },
        ],
      );
      await waitFor("seven events", () => eventsSettled(seen, 7));
      await Bun.sleep(200);
      seen.watch.close();
      await store.put(`${p}after-close`, "x");
      await Bun.sleep(300);

      const summary = seen.events.map((e) =>
        e.type === "put"
          ? `put ${e.kv.key.slice(p.length)}=${e.kv.value} v${e.kv.version}`
          : `del ${e.key.slice(p.length)}`,
      );
      expect(summary).toEqual([
        "put a=1 v1",
        "put b=2 v1",
        "put a=3 v2",
        "del b",
        "put c=4 v1",
        "put d=5 v1",
        "del a",
      ]);
      const revisions = seen.events.map((e) => e.revision);
      expect(revisions[0]).toBe(start);
      expect(revisions.slice(4)).toEqual([txn.revision, txn.revision, txn.revision]);
      for (let i = 1; i < revisions.length; i++) {
        expect(revisions[i] as number).toBeGreaterThanOrEqual(revisions[i - 1] as number);
      }
      for (const e of seen.events) if (e.type === "put") expect(e.kv.modRevision).toBe(e.revision);
      const txnBatches = seen.batches.filter((b) => b.some((e) => e.revision === txn.revision));
      expect(txnBatches).toHaveLength(1);
      expect(txnBatches[0]?.filter((e) => e.revision === txn.revision)).toHaveLength(3);
    });

    test("a watch from an earlier revision replays history, then continues live", async () => {
      const p = uniquePrefix("resume");
      const r1 = await store.put(`${p}a`, "1");
      const r2 = await store.put(`${p}b`, "2");
      await store.delete(`${p}a`);
      const live = collect(store, p, r1);
      const fromMiddle = collect(store, p, r2);
      await waitFor("the replay", () => eventsSettled(live, 3));
      await store.put(`${p}c`, "3");
      await waitFor("the live event", () => eventsSettled(live, 4));
      await waitFor("the middle replay", () => eventsSettled(fromMiddle, 3));
      live.watch.close();
      fromMiddle.watch.close();
      expect(live.events.map((e) => (e.type === "put" ? e.kv.key : `-${e.key}`))).toEqual([
        `${p}a`,
        `${p}b`,
        `-${p}a`,
        `${p}c`,
      ]);
      expect(fromMiddle.events).toEqual(live.events.slice(1));
    });

    test("a watch from a compacted revision fails with CompactedError", async () => {
      const p = uniquePrefix("compact");
      const r1 = await store.put(`${p}a`, "1");
      await store.put(`${p}b`, "2");
      const r3 = await store.put(`${p}c`, "3");
      await store.compact(r3);
      const tooOld = collect(store, p, r1);
      const fromCompaction = collect(store, p, r3);
      const error = await waitFor("the compaction error", () => tooOld.errors[0]);
      expect(error).toBeInstanceOf(CompactedError);
      expect(error).toMatchObject({ requested: r1, oldest: r3 });
      await waitFor("the event at the compaction point", () => eventsSettled(fromCompaction, 1));
      fromCompaction.watch.close();
      tooOld.watch.close();
      expect(fromCompaction.events.map((e) => e.revision)).toEqual([r3]);
      await store.compact(r1);
      expect(await failure(store.compact(r3 + 1_000_000))).toBeInstanceOf(InvalidStoreArgumentError);
    });

    test("another client sees writes and watches, and concurrent compare-and-swaps have one winner", async () => {
      if (!backend) throw new Error("no backend");
      const [s2, s3] = await Promise.all([backend.open(), backend.open()]);
      const p = uniquePrefix("clients");
      const seen = collect(s2, p, (await store.list(p)).revision + 1);
      await store.put(`${p}hello`, "from the first");
      expect((await s2.get(`${p}hello`))?.value).toBe("from the first");
      await waitFor("the other client's watch", () => eventsSettled(seen, 1));

      const clients = [store, s2, s3];
      const blocks = Array.from({ length: 12 }, (_, i) => `${p}blocks/${i}`);
      const attempts = await Promise.all(
        clients.flatMap((s, owner) =>
          blocks.map(async (key) => {
            const r = await s.txn([versionIs0(key)], [{ kind: "put", key, value: `owner-${owner}` }]);
            return { key, owner, won: r.succeeded };
          }),
        ),
      );
      for (const key of blocks) {
        const winners = attempts.filter((a) => a.key === key && a.won);
        expect(winners).toHaveLength(1);
        expect((await s3.get(key))?.value).toBe(`owner-${winners[0]?.owner}`);
      }
      await waitFor("every creation in the watch", () => eventsSettled(seen, 1 + blocks.length));
      seen.watch.close();
    });

    test("a closed client fails its calls and ends its watches with DatastoreUnavailableError", async () => {
      if (!backend) throw new Error("no backend");
      const s2 = await backend.open();
      const p = uniquePrefix("closed");
      const seen = collect(s2, p, (await s2.list(p)).revision + 1);
      await s2.close();
      const ended = await waitFor("the watch to end", () => seen.errors[0]);
      expect(ended).toBeInstanceOf(DatastoreUnavailableError);
      expect(await failure(s2.get(`${p}x`))).toBeInstanceOf(DatastoreUnavailableError);
      expect(await failure(s2.put(`${p}x`, "1"))).toMatchObject({
        message: expect.stringMatching(/datastore unavailable/i),
      });
      expect(() => s2.watch(p, { fromRevision: 1, onEvents: () => {}, onError: () => {} })).toThrow(
        DatastoreUnavailableError,
      );
      expect(await store.get(`${p}x`)).toBeUndefined();
    });

    test("invalid arguments are refused before anything is written", async () => {
      const p = uniquePrefix("invalid");
      const before = (await store.list("")).revision;
      expect(await failure(store.put("", "x"))).toBeInstanceOf(InvalidStoreArgumentError);
      expect(await failure(store.put(`${p}a`, "\ud800"))).toBeInstanceOf(InvalidStoreArgumentError);
      expect(await failure(store.put(`${p}a`, "x", { lease: "not-a-lease" }))).toBeInstanceOf(
        InvalidStoreArgumentError,
      );
      expect(
        await failure(
          store.txn(
            [],
            [
              { kind: "put", key: `${p}a`, value: "1" },
              { kind: "delete", key: `${p}a` },
            ],
          ),
        ),
      ).toBeInstanceOf(InvalidStoreArgumentError);
      expect(await failure(store.grantLease(0))).toBeInstanceOf(InvalidStoreArgumentError);
      expect(await failure(store.grantLease(1.5))).toBeInstanceOf(InvalidStoreArgumentError);
      expect(await failure(store.keepAlive("-1"))).toBeInstanceOf(InvalidStoreArgumentError);
      expect(() => store.watch(p, { fromRevision: 0, onEvents: () => {}, onError: () => {} })).toThrow(
        InvalidStoreArgumentError,
      );
      expect((await store.list("")).revision).toBe(before);
    });
  });
}

/**
 * The Store contract, part two, on every engine: leases and their TTL, watches (order, batches,
 * replay, compaction), a second client, and a closed one.
 */
import { expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import {
  CompactedError,
  DatastoreUnavailableError,
  InvalidStoreArgumentError,
  LeaseNotFoundError,
} from "../../src/store/store.ts";
import { rejection } from "./harness/rejection.ts";
import { uniquePrefix } from "./harness/store-backends.ts";
import { collect, describeEachEngine, eventsSettled, versionIs0 } from "./harness/store-contract-suite.ts";

describeEachEngine("leases, watches and clients", (s) => {
  test("leases: keys vanish after the TTL, keepAlive keeps them, revoke deletes them", async () => {
    const store = s.store();
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

      await pollUntil("the expired lease's keys to vanish", async () =>
        (await store.list(`${p}a`)).kvs.length === 0 ? true : undefined,
      );
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
      expect(await rejection(store.keepAlive(a.id))).toBeInstanceOf(LeaseNotFoundError);
      expect(await rejection(store.put(`${p}late`, "1", { lease: a.id }))).toBeInstanceOf(LeaseNotFoundError);

      await Bun.sleep(Math.max(0, 3500 - (Date.now() - t0)));
      expect((await store.get(`${p}b`))?.value).toBe("1");
    } finally {
      clearInterval(keeper);
    }
    expect(keeperErrors).toEqual([]);
    await store.revoke(b.id);
    expect(await store.get(`${p}b`)).toBeUndefined();
    expect(await rejection(store.keepAlive(b.id))).toBeInstanceOf(LeaseNotFoundError);
    await store.revoke(a.id);
    await store.revoke("1234567");
    expect(await rejection(store.put(`${p}x`, "1", { lease: "7654321" }))).toBeInstanceOf(LeaseNotFoundError);

    // 4 puts, then deletes of c (revoke), a1 + a2 (expiry) and b (revoke).
    await pollUntil("the watch to see every lease deletion", () => eventsSettled(seen, 8));
    seen.watch.close();
    const deleted = seen.events.filter((e) => e.type === "delete").map((e) => e.key);
    expect(deleted.sort()).toEqual([`${p}a1`, `${p}a2`, `${p}b`, `${p}c`]);
  }, 30_000);

  test("watch delivers puts and deletes under the prefix in order, one batch per transaction", async () => {
    const store = s.store();
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
    await pollUntil("seven events", () => eventsSettled(seen, 7));
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
    const store = s.store();
    const p = uniquePrefix("resume");
    const r1 = await store.put(`${p}a`, "1");
    const r2 = await store.put(`${p}b`, "2");
    await store.delete(`${p}a`);
    const live = collect(store, p, r1);
    const fromMiddle = collect(store, p, r2);
    await pollUntil("the replay", () => eventsSettled(live, 3));
    await store.put(`${p}c`, "3");
    await pollUntil("the live event", () => eventsSettled(live, 4));
    await pollUntil("the middle replay", () => eventsSettled(fromMiddle, 3));
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
    const store = s.store();
    const p = uniquePrefix("compact");
    const r1 = await store.put(`${p}a`, "1");
    await store.put(`${p}b`, "2");
    const r3 = await store.put(`${p}c`, "3");
    await store.compact(r3);
    const tooOld = collect(store, p, r1);
    const fromCompaction = collect(store, p, r3);
    const { value: error } = await pollUntil("the compaction error", () => tooOld.errors[0]);
    expect(error).toBeInstanceOf(CompactedError);
    expect(error).toMatchObject({ requested: r1, oldest: r3 });
    await pollUntil("the event at the compaction point", () => eventsSettled(fromCompaction, 1));
    fromCompaction.watch.close();
    tooOld.watch.close();
    expect(fromCompaction.events.map((e) => e.revision)).toEqual([r3]);
    await store.compact(r1);
    expect(await rejection(store.compact(r3 + 1_000_000))).toBeInstanceOf(InvalidStoreArgumentError);
  });

  test("another client sees writes and watches, and concurrent compare-and-swaps have one winner", async () => {
    const backend = s.backend();
    const store = s.store();
    const [s2, s3] = await Promise.all([backend.open(), backend.open()]);
    const p = uniquePrefix("clients");
    const seen = collect(s2, p, (await store.list(p)).revision + 1);
    await store.put(`${p}hello`, "from the first");
    expect((await s2.get(`${p}hello`))?.value).toBe("from the first");
    await pollUntil("the other client's watch", () => eventsSettled(seen, 1));

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
    await pollUntil("every creation in the watch", () => eventsSettled(seen, 1 + blocks.length));
    seen.watch.close();
  });

  test("a closed client fails its calls and ends its watches with DatastoreUnavailableError", async () => {
    const backend = s.backend();
    const store = s.store();
    const s2 = await backend.open();
    const p = uniquePrefix("closed");
    const seen = collect(s2, p, (await s2.list(p)).revision + 1);
    await s2.close();
    const { value: ended } = await pollUntil("the watch to end", () => seen.errors[0]);
    expect(ended).toBeInstanceOf(DatastoreUnavailableError);
    expect(await rejection(s2.get(`${p}x`))).toBeInstanceOf(DatastoreUnavailableError);
    expect(await rejection(s2.put(`${p}x`, "1"))).toMatchObject({
      message: expect.stringMatching(/datastore unavailable/i),
    });
    expect(() => s2.watch(p, { fromRevision: 1, onEvents: () => {}, onError: () => {} })).toThrow(
      DatastoreUnavailableError,
    );
    expect(await store.get(`${p}x`)).toBeUndefined();
  });
});

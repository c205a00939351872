/**
 * The Store contract, part one, on every engine: keys, revisions and versions, compare-and-swap
 * transactions, random operation sequences against a reference model, linearizable reads through
 * any server, and arguments refused before anything is written.
 */
import { expect, test } from "bun:test";
import type { Compare, TxnOp } from "../../src/store/store.ts";
import { InvalidStoreArgumentError } from "../../src/store/store.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import { rejection } from "./harness/rejection.ts";
import { uniquePrefix } from "./harness/store-backends.ts";
import { describeEachEngine, versionIs0 } from "./harness/store-contract-suite.ts";
import { StoreModel } from "./harness/store-model.ts";

describeEachEngine("keys, revisions and transactions", (s) => {
  test("put, get, list and delete keep revisions and versions", async () => {
    const store = s.store();
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

  test("listPages gives what list gives, a page at a time, all at one revision", async () => {
    const store = s.store();
    const p = uniquePrefix("pages");
    // Keys whose byte order and UTF-16 order differ, so both engines must agree on one order.
    const keys = ["a", "b", "c", "d", "e", "\uff5e", "\u{1f642}"].map((k) => `${p}${k}`);
    for (const k of keys) await store.put(k, `v-${k}`);
    await store.put(`${p.slice(0, -1)}0`, "outside");
    const listed = await store.list(p);
    const pages: string[][] = [];
    let late: Promise<number> | undefined;
    const revision = await store.listPages(p, 3, (kvs) => {
      pages.push(kvs.map((kv) => kv.key));
      // A write made while the listing is under way is not in its later pages.
      late ??= new Promise((resolve) => setTimeout(() => resolve(store.put(`${p}zz`, "late")), 0));
      expect(kvs).toEqual(listed.kvs.slice((pages.length - 1) * 3, pages.length * 3));
    });
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(listed.kvs.map((kv) => kv.key));
    expect(revision).toBe(listed.revision);
    expect(await late).toBeGreaterThan(revision);
    let calls = 0;
    expect(await store.listPages(uniquePrefix("none"), 3, () => calls++)).toBeGreaterThan(revision);
    expect(calls).toBe(0);
    expect(await rejection(store.listPages(p, 0, () => {}))).toBeInstanceOf(InvalidStoreArgumentError);
  });

  test("transactions compare and swap, and run the failure branch when a compare fails", async () => {
    const store = s.store();
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
    const store = s.store();
    for (const seed of [1, 2, 3]) {
      const rand = mulberry32(seed * 7919);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
      const p = uniquePrefix(`model${seed}`);
      const keys = ["a", "b", "c", "d", "e", "é", "🙂"].map((k) => `${p}${k}`);
      const values = ["", "x", "y", "zz", "ß", "🙂"];
      const model = new StoreModel((await store.list(p)).revision);
      const randomOps = (max: number): TxnOp[] => {
        const chosen = [...new Set(Array.from({ length: Math.floor(rand() * (max + 1)) }, () => pick(keys)))];
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
    const backend = s.backend();
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
            stale.push(`${where}: no-change txn ${JSON.stringify(noChange)} after delete at ${written + 1}`);
          }
          const again = await writer.put(key, "2");
          const got = await reader.get(key);
          if (got?.modRevision !== again)
            stale.push(`${where}: get ${JSON.stringify(got)}, wrote at ${again}`);
          const listed = await reader.list(key);
          if (listed.revision < again) stale.push(`${where}: list at ${listed.revision}, wrote at ${again}`);
        }
      }
    }
    expect(stale).toEqual([]);
    await Promise.all(clients.map((c) => c.close()));
  }, 60_000);

  test("invalid arguments are refused before anything is written", async () => {
    const store = s.store();
    const p = uniquePrefix("invalid");
    const before = (await store.list("")).revision;
    expect(await rejection(store.put("", "x"))).toBeInstanceOf(InvalidStoreArgumentError);
    expect(await rejection(store.put(`${p}a`, "\ud800"))).toBeInstanceOf(InvalidStoreArgumentError);
    expect(await rejection(store.put(`${p}a`, "x", { lease: "not-a-lease" }))).toBeInstanceOf(
      InvalidStoreArgumentError,
    );
    expect(
      await rejection(
        store.txn(
          [],
          [
            { kind: "put", key: `${p}a`, value: "1" },
            { kind: "delete", key: `${p}a` },
          ],
        ),
      ),
    ).toBeInstanceOf(InvalidStoreArgumentError);
    expect(await rejection(store.grantLease(0))).toBeInstanceOf(InvalidStoreArgumentError);
    expect(await rejection(store.grantLease(1.5))).toBeInstanceOf(InvalidStoreArgumentError);
    expect(await rejection(store.keepAlive("-1"))).toBeInstanceOf(InvalidStoreArgumentError);
    expect(() => store.watch(p, { fromRevision: 0, onEvents: () => {}, onError: () => {} })).toThrow(
      InvalidStoreArgumentError,
    );
    expect((await store.list("")).revision).toBe(before);
  });
});

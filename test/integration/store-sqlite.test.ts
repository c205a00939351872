/**
 * What only the embedded engine has to get right: one SQLite file shared by several processes
 * (the agents and plugins of a one-machine lab), history trimmed to a window, a lock held by
 * another process, and the paths it accepts.
 */

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import { run } from "../../src/linux/exec.ts";
import { openSqliteStore } from "../../src/store/sqlite-store.ts";
import type { WatchEvent } from "../../src/store/store.ts";
import {
  CompactedError,
  DatastoreUnavailableError,
  InvalidStoreArgumentError,
} from "../../src/store/store.ts";
import { type SqliteBackend, sqliteBackend, uniquePrefix } from "./harness/store-backends.ts";

const WORKER = join(import.meta.dir, "harness/store-sqlite-worker.ts");
const BLOCKS = 60;

describe("SqliteStore", () => {
  let backend: SqliteBackend;

  beforeAll(() => {
    backend = sqliteBackend();
  });

  afterAll(async () => {
    await backend?.dispose();
  });

  test("processes sharing the file claim disjoint blocks, see each other's writes, and sweep each other's leases", async () => {
    const store = await backend.openWith({ sweepIntervalMs: 100 });
    const p = uniquePrefix("processes");
    const events: WatchEvent[] = [];
    const errors: Error[] = [];
    const watch = store.watch(p, {
      fromRevision: (await store.list(p)).revision + 1,
      onEvents: (es) => events.push(...es),
      onError: (e) => errors.push(e),
    });
    const owners = ["proc-1", "proc-2", "proc-3"];
    const workers = owners.map((owner, i) =>
      run([process.execPath, WORKER, backend.path, owner, p, String(BLOCKS), String(i + 1)], {
        timeoutMs: 60_000,
      }),
    );
    await pollUntil("every worker to be ready", async () =>
      (await store.list(`${p}ready/`)).kvs.length === owners.length ? true : undefined,
    );
    await store.put(`${p}go`, "1");
    // This process claims from the other end at the same time, yielding so the workers interleave.
    const mine: number[] = [];
    for (let n = BLOCKS - 1; n >= 0; n--) {
      const key = `${p}${n}`;
      const r = await store.txn(
        [{ key, target: "version", op: "=", value: 0 }],
        [{ kind: "put", key, value: "test" }],
      );
      if (r.succeeded) mine.push(n);
      await Bun.sleep(1);
    }
    const results = await Promise.all(workers);
    for (const r of results) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const won = new Map<string, number[]>(owners.map((o, i) => [o, JSON.parse(results[i]?.stdout ?? "[]")]));
    won.set("test", mine);

    const claimed = [...won.values()].flat().sort((a, b) => a - b);
    expect(claimed).toEqual(Array.from({ length: BLOCKS }, (_, i) => i));
    // The premise: the processes really competed (started together, claims spread out).
    expect([...won.values()].filter((blocks) => blocks.length > 0).length).toBeGreaterThanOrEqual(2);
    for (const [owner, blocks] of won) {
      for (const n of blocks) expect((await store.get(`${p}${n}`))?.value).toBe(owner);
    }

    // Each worker left a key on a 1 s lease and exited: only our store's sweep can delete them.
    const leased = owners.map((o) => `${p}leased/${o}`);
    await pollUntil(
      "the workers' expired leases to be swept",
      () => {
        if (errors.length > 0) throw errors[0];
        const deleted = events.filter((e) => e.type === "delete").map((e) => e.key);
        return leased.every((k) => deleted.includes(k)) ? true : undefined;
      },
      10_000,
    );
    watch.close();
    const created = events.filter((e) => e.type === "put" && /\/\d+$/.test(e.kv.key));
    expect(created).toHaveLength(BLOCKS);
    const revisions = events.map((e) => e.revision);
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect((await store.list(`${p}leased/`)).kvs).toEqual([]);
  }, 60_000);

  test("history older than the configured window is compacted as writes go on", async () => {
    const store = await backend.openWith({ historyRevisions: 5 });
    const p = uniquePrefix("window");
    const revisions: number[] = [];
    for (let i = 0; i < 10; i++) revisions.push(await store.put(`${p}${i}`, String(i)));
    const last = revisions[9] as number;
    const errors: Error[] = [];
    const events: WatchEvent[] = [];
    const old = store.watch(p, {
      fromRevision: revisions[0] as number,
      onEvents: () => {},
      onError: (e) => errors.push(e),
    });
    const recent = store.watch(p, {
      fromRevision: last - 4,
      onEvents: (es) => events.push(...es),
      onError: (e) => errors.push(e),
    });
    const { value: error } = await pollUntil("the compaction error", () => errors[0]);
    expect(error).toBeInstanceOf(CompactedError);
    expect(error).toMatchObject({ requested: revisions[0], oldest: last - 4 });
    await pollUntil("the kept window", () => (events.length >= 5 ? true : undefined));
    old.close();
    recent.close();
    expect(events.map((e) => e.revision)).toEqual(revisions.slice(5));
    expect(errors).toHaveLength(1);
  });

  test("a write blocked by another process's transaction fails as datastore unavailable, then succeeds", async () => {
    const store = await backend.openWith({ busyTimeoutMs: 200 });
    const p = uniquePrefix("busy");
    const other = new Database(backend.path);
    try {
      other.run("BEGIN IMMEDIATE");
      const t0 = Date.now();
      let error: unknown;
      try {
        await store.put(`${p}a`, "1");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DatastoreUnavailableError);
      expect(String(error)).toMatch(/datastore unavailable.*SQLITE_BUSY/i);
      expect(Date.now() - t0).toBeLessThan(2000);
      other.run("ROLLBACK");
      expect(await store.put(`${p}a`, "1")).toBeGreaterThan(0);
    } finally {
      other.close();
    }
  });

  test("paths must be absolute, without '..' or NUL", () => {
    for (const bad of ["store.db", "./store.db", "/tmp/../etc/store.db", "/tmp/a\0b.db", "/tmp/dir/"]) {
      expect(() => openSqliteStore(bad)).toThrow(InvalidStoreArgumentError);
    }
  });
});

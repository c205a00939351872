/**
 * The Store contract suite's frame: the same tests run unchanged against every engine — SQLite (a
 * temp file), etcd with one member and etcd with three (real servers on loopback) — and what its
 * watch tests share. Each test works under its own random key prefix, so the tests of a file share
 * one datastore per engine without seeing each other.
 */
import { afterAll, beforeAll, describe } from "bun:test";
import type { Compare, Store, Watch, WatchEvent } from "../../../src/store/store.ts";
import { etcdBackend, type StoreBackend, sqliteBackend } from "./store-backends.ts";

const ENGINES: ReadonlyArray<{ name: string; make: () => Promise<StoreBackend> }> = [
  { name: "sqlite", make: async () => sqliteBackend() },
  { name: "etcd (1 member)", make: () => etcdBackend(1) },
  { name: "etcd (3 members)", make: () => etcdBackend(3) },
];

export interface EngineUnderTest {
  /** The engine's datastore, for more clients of it. */
  backend(): StoreBackend;
  /** The client the tests share. */
  store(): Store;
}

/** Declares `tests` once per engine, in a describe named after the engine and `topic`. */
export function describeEachEngine(topic: string, tests: (engine: EngineUnderTest) => void): void {
  for (const { name, make } of ENGINES) {
    describe(`Store contract on ${name}: ${topic}`, () => {
      let backend: StoreBackend | undefined;
      let store: Store | undefined;

      beforeAll(async () => {
        backend = await make();
        store = await backend.open();
      }, 60_000);

      afterAll(async () => {
        await backend?.dispose();
      }, 30_000);

      const setUp = <T>(value: T | undefined): T => {
        if (value === undefined) throw new Error(`the ${name} datastore is not set up (beforeAll failed?)`);
        return value;
      };
      tests({ backend: () => setUp(backend), store: () => setUp(store) });
    });
  }
}

export interface Collected {
  readonly events: WatchEvent[];
  readonly batches: WatchEvent[][];
  readonly errors: Error[];
  readonly watch: Watch;
}

/** Watches `prefix` from `fromRevision`, collecting every event, batch and error. */
export function collect(store: Store, prefix: string, fromRevision: number): Collected {
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

/** For pollUntil: true once `count` events arrived; a watch error ends the wait. */
export function eventsSettled(c: Collected, count: number): true | undefined {
  if (c.errors.length > 0) throw c.errors[0];
  return c.events.length >= count ? true : undefined;
}

/** The compare "the key does not exist". */
export const versionIs0 = (key: string): Compare => ({ key, target: "version", op: "=", value: 0 });

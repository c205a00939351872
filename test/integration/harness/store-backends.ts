/**
 * The datastores the store tests run against: a SQLite file in a temp dir, and real etcd
 * members (Debian's etcd-server) on free loopback ports with data in a temp dir. Everything is
 * removed after the suite, also when it fails, and as a last resort when the process exits.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EtcdCluster, startEtcdCluster } from "../../../src/linux/etcd-process.ts";
import { EtcdStore } from "../../../src/store/etcd-store.ts";
import { openSqliteStore, type SqliteStoreOptions } from "../../../src/store/sqlite-store.ts";
import type { Store } from "../../../src/store/store.ts";
import { disposeOnExit } from "../../../testkit/dispose-on-exit.ts";

export interface StoreBackend {
  readonly name: string;
  /** Opens one more client of the same datastore (same file, same cluster). */
  open(): Promise<Store>;
  /**
   * Clients that each talk to one server only (one per etcd member; two for a SQLite file), so
   * a test can write through one and read through another that may be lagging behind.
   */
  openEach(): Promise<Store[]>;
  /** Closes every client opened here, stops the servers, removes the data. */
  dispose(): Promise<void>;
}

export interface SqliteBackend extends StoreBackend {
  readonly path: string;
  openWith(options: SqliteStoreOptions): Promise<Store>;
}

export interface EtcdBackend extends StoreBackend {
  readonly cluster: EtcdCluster;
}

function tempDir(): { dir: string; unregister: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "podnet-store-test-"));
  const unregister = disposeOnExit(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, unregister };
}

export function sqliteBackend(): SqliteBackend {
  const { dir, unregister } = tempDir();
  const path = join(dir, "store.db");
  const stores: Store[] = [];
  const openWith = async (options: SqliteStoreOptions) => {
    const s = openSqliteStore(path, options);
    stores.push(s);
    return s;
  };
  return {
    name: "sqlite",
    path,
    open: () => openWith({}),
    openEach: () => Promise.all([openWith({}), openWith({})]),
    openWith,
    async dispose() {
      await Promise.all(stores.map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
      unregister();
    },
  };
}

export async function etcdBackend(members: 1 | 3): Promise<EtcdBackend> {
  const { dir, unregister } = tempDir();
  let cluster: EtcdCluster;
  try {
    cluster = await startEtcdCluster({ members, dataRoot: join(dir, "etcd"), host: "127.0.0.1" });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    unregister();
    throw e;
  }
  const stores: Store[] = [];
  const openOn = (endpoints: readonly string[]) => {
    const s = new EtcdStore(endpoints);
    stores.push(s);
    return s;
  };
  return {
    name: `etcd (${members} member${members === 1 ? "" : "s"})`,
    cluster,
    open: async () => openOn(cluster.endpoints),
    openEach: async () => cluster.endpoints.map((e) => openOn([e])),
    async dispose() {
      try {
        await Promise.all(stores.map((s) => s.close()));
      } finally {
        await cluster.close();
        rmSync(dir, { recursive: true, force: true });
        unregister();
      }
    },
  };
}

export function uniquePrefix(name: string): string {
  return `/t/${name}-${crypto.randomUUID().slice(0, 8)}/`;
}

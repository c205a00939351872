/**
 * A fresh SQLite-backed Store in its own temporary directory per test, closed and removed after
 * each test. Call `useTempStores(prefix)` at the top of a test file; it returns the opener.
 */
import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { openStore } from "../../src/store/open-store.ts";
import type { Store } from "../../src/store/store.ts";

export function useTempStores(prefix: string): () => Promise<Store> {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return async () => {
    const dir = mkdtempSync(`${tmpdir()}/${prefix}-`);
    dirs.push(dir);
    const s = await openStore(`sqlite:${dir}/cluster.db`);
    stores.push(s);
    return s;
  };
}

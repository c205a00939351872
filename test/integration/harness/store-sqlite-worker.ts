/**
 * A separate process sharing the SQLite store file with the test: it claims blocks
 * `PREFIX0..PREFIX(N-1)` by compare-and-swap in a seeded random order, holds a lease that the
 * test watches expire, and prints the blocks it won as JSON.
 * Usage: bun store-sqlite-worker.ts DB_PATH OWNER PREFIX COUNT SEED
 */
import { openSqliteStore } from "../../../src/store/sqlite-store.ts";
import { mulberry32 } from "../../../testkit/seeded-random.ts";

const [path, owner, prefix, countText, seedText] = process.argv.slice(2);
if (!path || !owner || !prefix || !countText || !seedText) {
  throw new Error("usage: store-sqlite-worker.ts DB_PATH OWNER PREFIX COUNT SEED");
}
const rand = mulberry32(Number(seedText));
const order = Array.from({ length: Number(countText) }, (_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j] as number, order[i] as number];
}

const store = openSqliteStore(path);
// Start together with the other claimants: announce ourselves, then wait for the test's "go".
await store.put(`${prefix}ready/${owner}`, "1");
while ((await store.get(`${prefix}go`)) === undefined) await Bun.sleep(5);
const won: number[] = [];
for (const n of order) {
  const key = `${prefix}${n}`;
  const r = await store.txn(
    [{ key, target: "version", op: "=", value: 0 }],
    [{ kind: "put", key, value: owner }],
  );
  if (r.succeeded) won.push(n);
  // Spread the claims out so the processes really interleave instead of one finishing first.
  await Bun.sleep(1);
}
// A key on a short lease, left to expire after this process has gone: another process's
// store must delete it.
const lease = await store.grantLease(1);
await store.put(`${prefix}leased/${owner}`, owner, { lease: lease.id });
await store.close();
console.log(JSON.stringify(won));

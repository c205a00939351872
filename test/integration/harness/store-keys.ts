/**
 * Prints, as a JSON array, the keys under a prefix of a datastore. Run inside a namespace from
 * which the datastore is reachable (the lab's etcd listens on its underlay only).
 * Usage: bun store-keys.ts SPEC PREFIX
 */
import { openStore } from "../../../src/store/open-store.ts";

const [spec, prefix] = process.argv.slice(2);
if (spec === undefined || prefix === undefined) {
  process.stderr.write("usage: store-keys.ts SPEC PREFIX\n");
  process.exit(2);
}
const store = await openStore(spec);
try {
  const { kvs } = await store.list(prefix);
  process.stdout.write(`${JSON.stringify(kvs.map((kv) => kv.key))}\n`);
} finally {
  await store.close();
}

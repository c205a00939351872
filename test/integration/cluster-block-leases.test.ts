/**
 * Node block leases through the real datastores (SQLite and a one-member etcd), no kernel:
 * concurrent agents never share a block, a restarted agent gets its block back, a node's block
 * is released once its lease TTL has passed (and not before), and a second cluster CIDR added to
 * a full cluster serves new nodes without touching existing blocks.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { claimBlocks, listBlockLeases } from "../../src/cluster/block-leases.ts";
import {
  extendClusterCidrs,
  initClusterConfig,
  readClusterConfig,
} from "../../src/cluster/cluster-config-store.ts";
import { blockKey, ROOT } from "../../src/cluster/keys.ts";
import type { ClusterConfig } from "../../src/ipam/cluster-config.ts";
import { buildClusterConfig } from "../../src/ipam/cluster-config.ts";
import { BlockExhaustedError, ClusterConfigError } from "../../src/ipam/cluster-errors.ts";
import type { IPPrefix } from "../../src/ipnet/prefix.ts";
import { formatPrefix, parsePrefix } from "../../src/ipnet/prefix.ts";
import type { Store } from "../../src/store/store.ts";
import { claimInWorkers, overlappingBlocks } from "./harness/block-claims.ts";
import { rejection } from "./harness/rejection.ts";
import { etcdBackend, type StoreBackend, sqliteBackend } from "./harness/store-backends.ts";

interface Datastore {
  readonly backend: StoreBackend;
  /** The `--datastore` spec other processes open it with. */
  readonly spec: string;
}

const DATASTORES: readonly { name: string; make: () => Promise<Datastore> }[] = [
  {
    name: "sqlite",
    make: async () => {
      const b = sqliteBackend();
      return { backend: b, spec: `sqlite:${b.path}` };
    },
  },
  {
    name: "etcd (1 member)",
    make: async () => {
      const b = await etcdBackend(1);
      return { backend: b, spec: b.cluster.spec };
    },
  },
];

function cidrConfig(...cidrs: string[]): ClusterConfig {
  return buildClusterConfig({ clusterCidrs: cidrs });
}

/** The single block of a one-family cluster's claim. */
function only(blocks: readonly IPPrefix[]): IPPrefix {
  expect(blocks).toHaveLength(1);
  return blocks[0] as IPPrefix;
}

for (const d of DATASTORES) {
  describe(`block leases on ${d.name}`, () => {
    let ds: Datastore | undefined;
    let store: Store;
    const granted: string[] = [];

    beforeAll(async () => {
      ds = await d.make();
      store = await ds.backend.open();
    });
    afterAll(async () => {
      await ds?.backend.dispose();
    });
    // Every test starts from an empty cluster: its leases revoked, its keys gone.
    afterEach(async () => {
      for (const id of granted.splice(0)) await store.revoke(id);
      const { kvs } = await store.list(`${ROOT}/`);
      for (const kv of kvs) await store.delete(kv.key);
    });

    async function lease(ttl = 60): Promise<{ id: string; ttlSeconds: number }> {
      const l = await store.grantLease(ttl);
      granted.push(l.id);
      return l;
    }

    async function claim(config: ClusterConfig, node: string, previous: string[] = []): Promise<string> {
      const l = await lease();
      return formatPrefix(
        only(
          await claimBlocks(
            store,
            config,
            node,
            l.id,
            previous.map((p) => parsePrefix(p)),
          ),
        ),
      );
    }

    test("100 agents claiming at once from 50 clients in 5 processes get 100 distinct blocks", async () => {
      const config = await initClusterConfig(store, cidrConfig("10.244.0.0/16"));
      const nodes = Array.from({ length: 100 }, (_, i) => `node-${i}`);
      const claims = await claimInWorkers({
        clientSpecs: Array.from({ length: 50 }, () => (ds as Datastore).spec),
        nodes,
        processes: 5,
      });
      granted.push(...claims.map((c) => c.lease));
      expect(claims.map((c) => c.node).sort()).toEqual([...nodes].sort());
      const blocks = claims.flatMap((c) => c.blocks);
      expect(blocks).toHaveLength(100);
      expect(new Set(blocks).size).toBe(100);
      for (const b of blocks) expect(parsePrefix(b).length).toBe(24);
      expect(overlappingBlocks(blocks)).toEqual([]);
      // What the datastore holds agrees: each block under its node's name and lease.
      const { leases, kvs } = await listBlockLeases(store);
      expect(leases.map((l) => `${l.node}=${formatPrefix(l.block)}`).sort()).toEqual(
        claims.map((c) => `${c.node}=${c.blocks[0]}`).sort(),
      );
      for (const c of claims) {
        const kv = kvs.find((k) => k.key === blockKey(parsePrefix(c.blocks[0] as string)));
        expect(kv?.lease).toBe(c.lease);
      }
      expect(config.clusterCidrs.map(formatPrefix)).toEqual(["10.244.0.0/16"]);
    }, 60_000);

    test("a restarted agent gets its block back under its new lease, and the old lease no longer holds it", async () => {
      const config = await initClusterConfig(store, cidrConfig("10.244.0.0/16"));
      const first = await lease();
      const block = only(await claimBlocks(store, config, "node-a", first.id));
      await claim(config, "node-b");
      const again = await lease();
      const back = only(await claimBlocks(store, config, "node-a", again.id));
      expect(formatPrefix(back)).toBe(formatPrefix(block));
      const key = blockKey(block);
      expect((await store.get(key))?.lease).toBe(again.id);
      // The old lease ending (the old process's lease expiring) must not take the block away.
      await store.revoke(first.id);
      expect((await store.get(key))?.lease).toBe(again.id);
      // After a full release, the agent's saved block is preferred over the first free one.
      await store.revoke(again.id);
      expect(await store.get(key)).toBeUndefined();
      expect(await claim(config, "node-a", ["10.244.200.0/24"])).toBe("10.244.200.0/24");
    });

    test("a node's block is released when its lease TTL passes, not before, and another node takes it", async () => {
      // Two blocks: one held for good, one by a node that stops renewing.
      const config = await initClusterConfig(store, cidrConfig("10.245.0.0/23"));
      await claim(config, "node-keep");
      const grantedAt = Date.now();
      const short = await lease(3);
      const grantDone = Date.now();
      const goneBlock = only(await claimBlocks(store, config, "node-gone", short.id));
      const key = blockKey(goneBlock);
      const newcomer = await lease();
      const tryClaim = () => claimBlocks(store, config, "node-new", newcomer.id);
      expect(await rejection(tryClaim())).toBeInstanceOf(BlockExhaustedError);

      // Just before the TTL the block is still held and still refused to others.
      await Bun.sleep(Math.max(0, grantedAt + short.ttlSeconds * 1000 - 400 - Date.now()));
      expect((await store.get(key))?.value).toContain("node-gone");
      expect((await rejection(tryClaim())).message).toMatch(/every block is taken/);

      let taken: string | undefined;
      const deadline = grantDone + short.ttlSeconds * 1000 + 3000;
      while (taken === undefined && Date.now() < deadline) {
        try {
          taken = formatPrefix(only(await tryClaim()));
        } catch (e) {
          if (!(e instanceof BlockExhaustedError)) throw e;
          await Bun.sleep(50);
        }
      }
      const at = Date.now();
      expect(taken).toBe(formatPrefix(goneBlock));
      expect(at).toBeGreaterThanOrEqual(grantedAt + short.ttlSeconds * 1000 - 100);
      const { leases } = await listBlockLeases(store);
      expect(leases.map((l) => l.node).sort()).toEqual(["node-keep", "node-new"]);
    }, 20_000);

    test("a second cluster CIDR serves new nodes of a full cluster; existing blocks stay as they are", async () => {
      const config = await initClusterConfig(store, cidrConfig("10.246.0.0/23"));
      const a = await claim(config, "node-a");
      const b = await claim(config, "node-b");
      expect([a, b].sort()).toEqual(["10.246.0.0/24", "10.246.1.0/24"]);
      expect((await rejection(claim(config, "node-c"))).message).toContain(
        '"10.246.0.0/23": every block is taken',
      );
      const before = (await store.list(`${ROOT}/blocks/`)).kvs;

      expect(await rejection(extendClusterCidrs(store, "10.246.1.0/24"))).toBeInstanceOf(ClusterConfigError);
      const extended = await extendClusterCidrs(store, "10.247.0.0/24");
      expect(extended.clusterCidrs.map(formatPrefix)).toEqual(["10.246.0.0/23", "10.247.0.0/24"]);
      const stored = await readClusterConfig(store);
      expect(stored?.clusterCidrs.map(formatPrefix)).toEqual(["10.246.0.0/23", "10.247.0.0/24"]);
      expect(stored?.nodeBlockLength).toEqual(config.nodeBlockLength);

      expect(await claim(stored as ClusterConfig, "node-c")).toBe("10.247.0.0/24");
      const after = (await store.list(`${ROOT}/blocks/`)).kvs;
      for (const kv of before) {
        expect(after.find((x) => x.key === kv.key)).toEqual(kv);
      }
      // A restarted node of the first range keeps its block rather than moving to the new one.
      expect(await claim(stored as ClusterConfig, "node-a")).toBe(a);
      expect(await rejection(claim(stored as ClusterConfig, "node-d"))).toBeInstanceOf(BlockExhaustedError);
    });
  });
}

/**
 * Block leases on a three-member etcd cluster (real members on loopback): 100 agents claiming at
 * once through clients spread over every member get 100 distinct blocks; with the leader killed,
 * agents keep renewing their leases and new nodes keep claiming, also through clients whose first
 * member is the dead one; once it returns, every member reports the same blocks, none twice.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import { listBlockLeases } from "../../src/cluster/block-leases.ts";
import { initClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import { buildClusterConfig } from "../../src/ipam/cluster-config.ts";
import { formatPrefix } from "../../src/ipnet/prefix.ts";
import type { EtcdMember } from "../../src/linux/etcd-process.ts";
import { EtcdStore } from "../../src/store/etcd-store.ts";
import type { Store } from "../../src/store/store.ts";
import { claimInWorkers, overlappingBlocks, type WorkerClaim } from "./harness/block-claims.ts";
import { type EtcdBackend, etcdBackend } from "./harness/store-backends.ts";

async function isLeader(m: EtcdMember): Promise<boolean> {
  if (!m.running) return false;
  try {
    const res = await fetch(`http://${m.endpoint}/metrics`, { signal: AbortSignal.timeout(1000) });
    return /^etcd_server_is_leader 1$/m.test(await res.text());
  } catch {
    return false;
  }
}

async function leaderOf(members: readonly EtcdMember[]): Promise<EtcdMember> {
  const { value } = await pollUntil(
    "an etcd leader",
    async () => {
      for (const m of members) if (await isLeader(m)) return m;
      return undefined;
    },
    10_000,
  );
  return value;
}

/** `count` datastore specs naming every member, each list starting at a different member. */
function rotatedSpecs(endpoints: readonly string[], count: number, first = 0): string[] {
  return Array.from({ length: count }, (_, i) => {
    const k = (first + i) % endpoints.length;
    return `etcd://${[...endpoints.slice(k), ...endpoints.slice(0, k)].join(",")}`;
  });
}

function expectDisjoint(blocks: readonly string[]): void {
  expect(new Set(blocks).size).toBe(blocks.length);
  expect(overlappingBlocks(blocks)).toEqual([]);
}

describe("block leases on a three-member etcd", () => {
  let backend: EtcdBackend | undefined;
  let admin: Store;

  beforeAll(async () => {
    backend = await etcdBackend(3);
    admin = await backend.open();
    await initClusterConfig(admin, buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"] }));
  }, 60_000);

  afterAll(async () => {
    await backend?.dispose();
  }, 30_000);

  test("100 concurrent agents get distinct blocks; claims and renewals go on without the leader; members agree", async () => {
    const { cluster } = backend as EtcdBackend;
    const endpoints = cluster.endpoints;
    const first = await claimInWorkers({
      clientSpecs: rotatedSpecs(endpoints, 51),
      nodes: Array.from({ length: 100 }, (_, i) => `node-${i}`),
      processes: 3,
    });
    expectDisjoint(first.flatMap((c) => c.blocks));
    expect(first).toHaveLength(100);

    const leader = await leaderOf(cluster.members);
    await cluster.stop(leader, "SIGKILL");
    const others = cluster.members.filter((m) => m !== leader);
    await leaderOf(others);
    // Agents renew their leases through whichever member answers.
    for (const c of first.slice(0, 10)) await admin.keepAlive(c.lease);
    const deadFirst = endpoints.indexOf(leader.endpoint);
    const second = await claimInWorkers({
      clientSpecs: rotatedSpecs(endpoints, 6, deadFirst),
      nodes: Array.from({ length: 20 }, (_, i) => `late-${i}`),
      processes: 2,
    });
    const all: WorkerClaim[] = [...first, ...second];
    expectDisjoint(all.flatMap((c) => c.blocks));

    await cluster.start(leader);
    const expected = all.map((c) => `${c.node}=${c.blocks[0]}`).sort();
    for (const m of cluster.members) {
      // One client per member: each member must serve the same, complete set of leases.
      const only = new EtcdStore([m.endpoint]);
      try {
        const { leases, kvs } = await listBlockLeases(only);
        expect(leases.map((l) => `${l.node}=${formatPrefix(l.block)}`).sort()).toEqual(expected);
        for (const c of all) {
          const kv = kvs.find((k) => k.key.endsWith(`/${c.blocks[0]?.replace("/", "-")}`));
          expect(kv?.lease).toBe(c.lease);
        }
      } finally {
        await only.close();
      }
    }
    for (const c of all) await admin.revoke(c.lease);
    expect((await listBlockLeases(admin)).leases).toEqual([]);
  }, 90_000);
});

/**
 * A cluster written straight into a SQLite datastore, for drawing big maps without a lab: nodes
 * announced and their blocks claimed as an agent does (announceNode, claimBlocks under one lease),
 * pods recorded as the plugin does (putPodRecord), at the block's 2nd, 3rd, … addresses. No agent
 * runs, so the map shows every node as not answering — the drawing is what is tested.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { claimBlocks } from "../../../src/cluster/block-leases.ts";
import { initClusterConfig } from "../../../src/cluster/cluster-config-store.ts";
import { announceNode } from "../../../src/cluster/node-registry.ts";
import { putPodRecord } from "../../../src/cluster/pod-records.ts";
import { buildClusterConfig } from "../../../src/ipam/cluster-config.ts";
import { formatIP } from "../../../src/ipnet/address.ts";
import { formatPrefix, nthIP } from "../../../src/ipnet/prefix.ts";
import { openStore } from "../../../src/store/open-store.ts";

export interface SeededPod {
  readonly node: string;
  readonly name: string;
  readonly ip: string;
}

export interface SeededNode {
  readonly name: string;
  readonly nodeIP: string;
  readonly block: string;
}

export interface SeededCluster {
  /** The directory holding the database (the caller removes it). */
  readonly dir: string;
  /** `sqlite:PATH`, for `podnet ui --datastore`. */
  readonly datastore: string;
  readonly nodes: readonly SeededNode[];
  readonly pods: readonly SeededPod[];
}

export class SeedClusterError extends Error {
  override readonly name = "SeedClusterError";
}

/** The pod name the seed gives the `j`-th pod (from 1) of node `i` (from 1): unique as a substring too. */
export const seededPodName = (i: number, j: number) => `pod-n${i}-p${j}-x`;

/**
 * Writes `nodes` nodes (node1…, node IPs 192.0.2.11…) with one /24 block each from 10.244.0.0/16 and
 * `podsPerNode` pods in every block (or as many as it says for node i), into a new SQLite datastore.
 */
export async function seedCluster(
  nodes: number,
  podsPerNode: number | ((node: number) => number),
): Promise<SeededCluster> {
  if (nodes < 1 || nodes > 200)
    throw new SeedClusterError(`Cannot seed ${nodes} nodes: 1 to 200 fit 192.0.2.0/24`);
  const podsOn = (i: number) => {
    const n = typeof podsPerNode === "number" ? podsPerNode : podsPerNode(i);
    if (!Number.isInteger(n) || n < 0 || n > 250)
      throw new SeedClusterError(`Cannot seed ${n} pods on node${i}: a /24 block holds 253`);
    return n;
  };
  const dir = mkdtempSync(`${tmpdir()}/podnet-ui-seed-`);
  const datastore = `sqlite:${dir}/cluster.db`;
  const store = await openStore(datastore);
  try {
    const config = await initClusterConfig(
      store,
      buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
    );
    // One long lease: nothing renews it, and the test is over long before it ends.
    const lease = await store.grantLease(3600);
    const seededNodes: SeededNode[] = [];
    const pods: SeededPod[] = [];
    for (let i = 1; i <= nodes; i++) {
      const name = `node${i}`;
      const nodeIP = `192.0.2.${10 + i}`;
      const [block] = await claimBlocks(store, config, name, lease.id);
      if (block === undefined)
        throw new SeedClusterError(`Cannot seed ${name}: claimBlocks gave it no block`);
      const cidr = formatPrefix(block);
      const mac = `02:00:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
      await announceNode(
        store,
        { name, nodeIPs: [nodeIP], blocks: [cidr], backend: "auto", vtepMac: mac },
        lease.id,
      );
      seededNodes.push({ name, nodeIP, block: cidr });
      for (let j = 1; j <= podsOn(i); j++) {
        const pod = { node: name, name: seededPodName(i, j), ip: formatIP(nthIP(block, BigInt(j + 1))) };
        await putPodRecord(store, {
          namespace: "default",
          name: pod.name,
          node: name,
          ips: [pod.ip],
          labels: {},
        });
        pods.push(pod);
      }
    }
    return { dir, datastore, nodes: seededNodes, pods };
  } finally {
    await store.close();
  }
}

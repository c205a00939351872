/**
 * A two-node cluster in a temporary SQLite store, its agents faked (diagnosis/fake-agents.ts): what
 * the explain, trace and ui tests run their commands and servers against.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import { announceNode } from "../../src/cluster/node-registry.ts";
import { putPodRecord } from "../../src/cluster/pod-records.ts";
import { FakeAgents, type FakeBehaviour } from "../../src/diagnosis/fake-agents.ts";
import { buildClusterConfig } from "../../src/ipam/cluster-config.ts";
import type { PodRecord } from "../../src/k8s/service-model.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { Store } from "../../src/store/store.ts";

export interface TwoNodeCluster {
  /** The datastore spec a command is given (`sqlite:…`). */
  readonly spec: string;
  readonly store: Store;
  readonly agents: FakeAgents;
}

/** default/web, 10.244.1.2 on node1: the cluster's pod unless a test names its own. */
export const WEB_POD: PodRecord = {
  namespace: "default",
  name: "web",
  node: "node1",
  ips: ["10.244.1.2"],
  labels: {},
};

/**
 * node1 (192.0.2.11, 10.244.1.0/24) and node2 (192.0.2.12, 10.244.2.0/24) with `pods` recorded,
 * their agents faked with `behaviour`; `cleanup` receives what undoes it, to be run in reverse.
 */
export async function twoNodeCluster(
  cleanup: (() => Promise<void> | void)[],
  behaviour: Record<string, FakeBehaviour> = { node1: "answer", node2: "answer" },
  pods: readonly PodRecord[] = [WEB_POD],
): Promise<TwoNodeCluster> {
  const dir = mkdtempSync(join(tmpdir(), "podnet-two-node-"));
  const spec = `sqlite:${dir}/cluster.db`;
  const store = await openStore(spec);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => store.close());
  await initClusterConfig(
    store,
    buildClusterConfig({ clusterCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] }),
  );
  const lease = await store.grantLease(60);
  for (const [name, ip, block] of [
    ["node1", "192.0.2.11", "10.244.1.0/24"],
    ["node2", "192.0.2.12", "10.244.2.0/24"],
  ] as const) {
    await store.put(`/podnet/blocks/${block.replace("/", "-")}`, JSON.stringify({ node: name, block }), {
      lease: lease.id,
    });
    await announceNode(
      store,
      { name, nodeIPs: [ip], blocks: [block], backend: "auto", vtepMac: "02:00:00:00:00:01" },
      lease.id,
    );
  }
  for (const pod of pods) await putPodRecord(store, pod);
  const agents = await FakeAgents.start(store, behaviour);
  cleanup.push(() => agents.close());
  return { spec, store, agents };
}

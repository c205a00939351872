/**
 * Test fixtures shared by the ui unit tests and test/integration/ui-server.test.ts: a two-node
 * cluster in a temporary SQLite store with fake agents, and a reader of the map event stream.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initClusterConfig } from "../cluster/cluster-config-store.ts";
import { announceNode } from "../cluster/node-registry.ts";
import { putPodRecord } from "../cluster/pod-records.ts";
import { FakeAgents, type FakeBehaviour } from "../diagnosis/fake-agents.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import type { ClusterMap } from "./map-types.ts";

/**
 * node1 (192.0.2.11, 10.244.1.0/24, pod default/web 10.244.1.2) and node2 (192.0.2.12,
 * 10.244.2.0/24), their agents faked with `behaviour`; `cleanup` receives what undoes it.
 */
export async function twoNodeCluster(
  cleanup: (() => Promise<void> | void)[],
  behaviour: Record<string, FakeBehaviour> = { node1: "answer", node2: "answer" },
): Promise<{ store: Store; agents: FakeAgents }> {
  const dir = mkdtempSync(join(tmpdir(), "podnet-ui-test-"));
  const store = await openStore(`sqlite:${dir}/cluster.db`);
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
  await putPodRecord(store, {
    namespace: "default",
    name: "web",
    node: "node1",
    ips: ["10.244.1.2"],
    labels: {},
  });
  const agents = await FakeAgents.start(store, behaviour);
  cleanup.push(() => agents.close());
  return { store, agents };
}

/** Reads `event: map` events from an SSE body until `want` holds for one. */
export async function readMapUntil(
  body: ReadableStream<Uint8Array>,
  want: (m: ClusterMap) => boolean,
  timeoutMs: number,
): Promise<ClusterMap> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        Bun.sleep(Math.max(1, deadline - Date.now())).then(() => undefined),
      ]);
      if (chunk === undefined || chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").find((l) => l.startsWith("data: "));
        if (event.startsWith("event: map") && data !== undefined) {
          const map = JSON.parse(data.slice(6)) as ClusterMap;
          if (want(map)) return map;
        }
        end = buffer.indexOf("\n\n");
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  throw new Error(`no matching map event within ${timeoutMs} ms`);
}

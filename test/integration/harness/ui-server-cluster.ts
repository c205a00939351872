/**
 * The cluster the ui-server-*.test.ts files run `podnet ui`'s server on: three nodes of the lab's
 * underlay (node1 and node2 on lan1, node3 behind the router on lan2), a real agent (auto backend,
 * a long resync so the records a test writes by hand stay) and a pod on each, the Service
 * default/echo over them, one SQLite datastore, and the server on 127.0.0.1 (as `podnet ui` runs
 * it, with the underlay's router and a host outside the cluster named).
 */
import { afterAll } from "bun:test";
import { readClusterConfig } from "../../../src/cluster/cluster-config-store.ts";
import { createService } from "../../../src/cluster/service-store.ts";
import type { Store } from "../../../src/store/store.ts";
import type { ClusterMap } from "../../../src/ui/map-types.ts";
import { startUiServer, type UiServer } from "../../../src/ui/ui-server.ts";
import type { AgentProcess } from "./cluster-agent.ts";
import { type ClusterPod, type TestCluster, useTestCluster } from "./test-cluster.ts";

export const NODES = ["node1", "node2", "node3"] as const;

export const podNames = (m: ClusterMap) =>
  m.nodes.flatMap((n) => n.blocks.flatMap((b) => b.pods.map((p) => p.name))).sort();

export interface UiServerCluster {
  readonly cluster: TestCluster;
  readonly store: Store;
  readonly server: UiServer;
  /** Each node's pod, `NODE-a`, labelled app=echo. */
  readonly pods: ReadonlyMap<string, ClusterPod>;
  /** GETs `path` as the page's own fetch does (a loopback server sends probes only for a same-origin fetch or the token header). */
  api(path: string): Promise<Response>;
}

/**
 * Registers the cluster with the enclosing describe; `start` (the first test) brings it up, `get`
 * returns it (throwing when `start` failed). The server and the store are closed after the suite.
 */
export function useUiServerCluster(): { start(): Promise<UiServerCluster>; get(): UiServerCluster } {
  const cluster = useTestCluster(3);
  let up: UiServerCluster | undefined;
  let store: Store | undefined;
  let server: UiServer | undefined;
  afterAll(async () => {
    await server?.stop();
    await store?.close();
  });
  return {
    async start() {
      const c = cluster();
      const agents: AgentProcess[] = [];
      for (const node of NODES) agents.push(c.startAgent(node, { backend: "auto", resync: 600 }));
      for (const agent of agents) await c.waitReady(agent);
      const pods = new Map<string, ClusterPod>();
      for (const node of NODES)
        pods.set(node, await c.addPod(node, { name: `${node}-a`, labels: { app: "echo" } }));
      store = await c.openStore();
      const config = await readClusterConfig(store);
      if (!config) throw new Error("no cluster config");
      await createService(store, config, {
        namespace: "default",
        name: "echo",
        selector: { app: "echo" },
        ports: [{ protocol: "TCP", port: 80, targetPort: 8080 }],
      });
      server = await startUiServer({
        store,
        hostname: "127.0.0.1",
        port: 0,
        hosts: [
          { name: "outside", ip: "203.0.113.10", note: "a host outside the cluster", cidr: "203.0.113.0/24" },
        ],
        // The underlay's one router, by its address on each segment (`podnet ui --router`).
        routers: [{ name: "router", addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"] }],
        // Generous: the agents answer slower on a loaded machine.
        factsTimeoutMs: 8000,
        explainTimeoutMs: 8000,
        traceTimeoutMs: 20_000,
        log: () => {},
      });
      const port = server.port;
      up = {
        cluster: c,
        store,
        server,
        pods,
        api: (path) =>
          fetch(`http://127.0.0.1:${port}${path}`, { headers: { "sec-fetch-site": "same-origin" } }),
      };
      return up;
    },
    get() {
      if (!up) throw new Error("the cluster is not up (the first test failed)");
      return up;
    },
  };
}

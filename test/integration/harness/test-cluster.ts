/**
 * Multi-node clusters for the agent integration tests: the lab's underlay (two segments joined
 * by a router, documentation ranges) built in namespaces named `pntest-<random>-...`, a node
 * agent per node started inside its node namespace with `ip netns exec` (the lab's command line),
 * all sharing one SQLite datastore, and pods attached with the conflist each agent wrote.
 * Everything is removed after the suite, as a last resort when the process exits, or by the next
 * run's sweep if this one was killed (same owner-file convention as test-node.ts).
 */
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { parseConflist } from "../../../src/cni/conflist.ts";
import { CniRuntime } from "../../../src/lab/cni-runtime.ts";
import type { EchoProbe } from "../../../src/lab/echo-server.ts";
import type { Topology } from "../../../src/lab/topology.ts";
import { defaultTopology } from "../../../src/lab/topology.ts";
import { buildUnderlay } from "../../../src/lab/underlay.ts";
import { mustRunSync, run } from "../../../src/linux/exec.ts";
import { inNetns } from "../../../src/linux/netns.ts";
import { openStore } from "../../../src/store/open-store.ts";
import type { Store } from "../../../src/store/store.ts";
import { ensurePodnetBuilt, PODNET } from "../../../testkit/podnet-build.ts";
import type { AgentProcess, AgentRunOptions } from "./cluster-agent.ts";
import { stopAgentProcess, testAgentArgv, waitAgentReady } from "./cluster-agent.ts";
import type { ClusterNode } from "./cluster-node.ts";
import { clusterNode } from "./cluster-node.ts";
import { probeEcho, startEchoServer } from "./echo-pods.ts";
import type { FdbRow, NeighEntry, PeerRouteEntry } from "./node-routing.ts";
import { hasVxlanIn, peerRoutesIn, vxlanFdbIn, vxlanNeighsIn } from "./node-routing.ts";
import { REFERENCE_PLUGINS } from "./test-node.ts";
import { TestRun, useDisposable } from "./test-run.ts";

export interface ClusterPod {
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  readonly ip: string;
  readonly containerId: string;
  readonly netnsPath: string;
}

export interface ClusterPodOptions {
  /** Pod name (K8S_POD_NAME) and namespace suffix; NODE-pN by default. */
  readonly name?: string;
  /** Labels the runtime passes (args.cni.labels). */
  readonly labels?: Readonly<Record<string, string>>;
}

export class TestCluster {
  private readonly testRun = new TestRun();
  /** The name prefix of every namespace and container ID of this cluster. */
  readonly prefix = this.testRun.prefix;
  readonly dir = this.testRun.dir;
  readonly binDir = `${this.dir}/bin`;
  readonly datastore: string;
  readonly topology: Topology;
  readonly nodes: readonly ClusterNode[];
  private readonly pods: ClusterPod[] = [];

  private constructor(nodeCount: number, datastore: string | undefined) {
    this.datastore = datastore ?? `sqlite:${this.dir}/cluster.db`;
    this.topology = defaultTopology(nodeCount);
    this.nodes = this.topology.nodes.map((h) => clusterNode(h, `${this.testRun.prefix}-${h.name}`, this.dir));
  }

  /**
   * The underlay of `defaultTopology(nodeCount)`: node1, node2, node4... on lan1 (192.0.2.0/24),
   * node3, node6... behind the router on lan2 (198.51.100.0/24). No agent runs yet. Agents use a
   * SQLite file of the cluster's own unless `datastore` names another (as seen from the nodes).
   */
  static create(nodeCount: number, options: { datastore?: string } = {}): TestCluster {
    ensurePodnetBuilt();
    const c = new TestCluster(nodeCount, options.datastore);
    try {
      mustRunSync([PODNET, "install-cni", "--bin-dir", c.binDir]);
      const names = {
        switchNetns: (s: string) => c.testRun.track(`sw-${s}`),
        routerNetns: c.testRun.track("router"),
        hostNetns: (h: string) => c.testRun.track(h),
      };
      buildUnderlay(c.topology, names, c.topology.nodes);
      for (const n of c.nodes) mkdirSync(n.confDir, { recursive: true });
      return c;
    } catch (e) {
      c.dispose({ quiet: true });
      throw e;
    }
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`the test cluster has no node ${name}`);
    return n;
  }

  /** The agent's command line in `node`, as the lab builds it, with the tests' short clocks. */
  agentArgv(node: ClusterNode, o: AgentRunOptions): string[] {
    return testAgentArgv(node, this.datastore, o);
  }

  /** Starts `podnet agent` inside the node's namespace; stderr (JSON logs) goes to a file. */
  startAgent(name: string, o: AgentRunOptions): AgentProcess {
    const node = this.node(name);
    const logPath = `${this.dir}/agent-${name}-${Date.now()}.log`;
    const fd = openSync(logPath, "a");
    try {
      const child = Bun.spawn(inNetns(node.netns, this.agentArgv(node, o)), {
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
      });
      this.testRun.adopt(child);
      return { node, child, logPath, startedAt: Date.now() };
    } finally {
      closeSync(fd);
    }
  }

  /** Waits for the agent's ready file and conflist (the agent has done its first route sync). */
  waitReady(agent: AgentProcess, timeoutMs = 15_000): Promise<number> {
    return waitAgentReady(agent, timeoutMs);
  }

  /** Sends `signal` and returns the exit code (fails if the agent does not exit in time). */
  async stopAgent(agent: AgentProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM", timeoutMs = 10_000) {
    try {
      return await stopAgentProcess(agent, signal, timeoutMs);
    } finally {
      this.testRun.release(agent.child);
    }
  }

  /** IPv4 routes podnet owns in the node (protocol 200). */
  peerRoutes(name: string): PeerRouteEntry[] {
    return peerRoutesIn(this.node(name).netns);
  }

  routeTo(name: string, block: string): PeerRouteEntry | undefined {
    return this.peerRoutes(name).find((r) => r.dst === block);
  }

  neighs(name: string): NeighEntry[] {
    return vxlanNeighsIn(this.node(name).netns);
  }

  fdb(name: string): FdbRow[] {
    return vxlanFdbIn(this.node(name).netns);
  }

  hasVxlan(name: string): boolean {
    return hasVxlanIn(this.node(name).netns);
  }

  /** The pod block the node's agent wrote into its conflist. */
  blockOf(name: string): string {
    const conflist = parseConflist(readFileSync(this.node(name).conflistPath, "utf8"));
    const ipam = conflist.plugins[0]?.ipam as { ranges?: { subnet: string }[][] } | undefined;
    const subnet = ipam?.ranges?.[0]?.[0]?.subnet;
    if (!subnet) throw new Error(`the conflist of ${name} names no subnet`);
    return subnet;
  }

  runtime(name: string): CniRuntime {
    const node = this.node(name);
    const conflist = parseConflist(readFileSync(node.conflistPath, "utf8"));
    return new CniRuntime(conflist, {
      binDirs: [this.binDir, REFERENCE_PLUGINS],
      nodeNetns: node.netns,
      timeoutMs: 30_000,
    });
  }

  /** Attaches a pod through the node's conflist (as a runtime does) and starts an echo server in it. */
  async addPod(nodeName: string, options: ClusterPodOptions = {}): Promise<ClusterPod> {
    const n = this.pods.filter((p) => p.node === nodeName).length;
    const name = options.name ?? `${nodeName}-p${n}`;
    const { name: netns, path: netnsPath } = this.testRun.createNetns(name);
    const containerId = `${this.testRun.prefix}-${name}`;
    const result = (await this.runtime(nodeName).add({
      containerId,
      ifname: "eth0",
      netnsPath,
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: name },
      ...(options.labels ? { labels: options.labels } : {}),
    })) as { ips?: { address: string }[] };
    const ip = result.ips?.[0]?.address.split("/")[0];
    if (!ip) throw new Error(`ADD of ${name} returned no address: ${JSON.stringify(result)}`);
    await startEchoServer(this.testRun, netns, name);
    const pod = { name, node: nodeName, netns, ip, containerId, netnsPath };
    this.pods.push(pod);
    return pod;
  }

  /** One TCP connection from namespace `ns` to an echo server; throws when it cannot connect. */
  probe(ns: string, host: string, timeoutMs = 2000): Promise<EchoProbe> {
    return probeEcho(ns, host, { timeoutMs });
  }

  /** GET http://127.0.0.1:9464/metrics from inside the node's namespace (the agent's loopback). */
  async metrics(name: string): Promise<string> {
    const script =
      "const r = await fetch('http://127.0.0.1:9464/metrics'); if (!r.ok) process.exit(3); process.stdout.write(await r.text());";
    const r = await run(inNetns(this.node(name).netns, [process.execPath, "-e", script]), {
      timeoutMs: 10_000,
    });
    if (r.code !== 0) throw new Error(`cannot fetch metrics of ${name}: ${r.stderr.trim() || r.code}`);
    return r.stdout;
  }

  /** A client of the cluster's datastore, for the tests' own reads and writes (SQLite only). */
  async openStore(): Promise<Store> {
    return openStore(this.datastore);
  }

  /** Moves the node's underlay address (as a DHCP lease move does) and restores its default route. */
  moveAddress(name: string, from: string, to: string): void {
    const node = this.node(name);
    const gateway = this.topology.segments.find((s) => s.name === node.segment)?.gateway;
    if (!gateway) throw new Error(`no gateway for ${name}`);
    mustRunSync(["ip", "-n", node.netns, "addr", "del", from, "dev", "eth0"]);
    mustRunSync(["ip", "-n", node.netns, "addr", "add", to, "dev", "eth0"]);
    mustRunSync(["ip", "-n", node.netns, "route", "replace", "default", "via", gateway]);
  }

  /** Kills every agent and echo server, removes every namespace and the temp dir. */
  dispose(options: { quiet?: boolean } = {}): void {
    this.testRun.dispose(options);
  }
}

/** A TestCluster shared by the tests of the enclosing describe (underlay built in beforeAll). */
export function useTestCluster(nodeCount: number): () => TestCluster {
  return useDisposable("test cluster", () => TestCluster.create(nodeCount), "suite");
}

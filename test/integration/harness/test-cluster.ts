/**
 * Multi-node clusters for the agent integration tests: the lab's underlay (two segments joined
 * by a router, documentation ranges) built in namespaces named `pntest-<random>-...`, a node
 * agent per node started inside its node namespace with `ip netns exec`, all sharing one SQLite
 * datastore, and pods attached with the conflist each agent wrote. Everything is removed after
 * the suite, as a last resort when the process exits, or by the next run's sweep if this one was
 * killed (same owner-file convention as harness.ts).
 */
import { afterAll, beforeAll } from "bun:test";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { CONFLIST_NAME } from "../../src/agent/cni-config-writer.ts";
import { VXLAN_DEV } from "../../src/agent/vxlan-device.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { parseConflist } from "../../src/cni/conflist.ts";
import type { IPPrefix } from "../../src/ipnet/prefix.ts";
import { parsePrefix, prefixesOverlap } from "../../src/ipnet/prefix.ts";
import { CniRuntime } from "../../src/lab/cni-runtime.ts";
import type { EchoProbe } from "../../src/lab/echo-server.ts";
import type { HostSpec, Topology } from "../../src/lab/topology.ts";
import { defaultTopology } from "../../src/lab/topology.ts";
import { buildUnderlay } from "../../src/lab/underlay.ts";
import { mustRunSync, run, runSync } from "../../src/linux/exec.ts";
import { createNetns, inNetns, randomSuffix } from "../../src/linux/netns.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { Store } from "../../src/store/store.ts";
import { ipJsonIn } from "./kernel-state.ts";
import { disposeOnExit, OWNER_FILE, sweepStaleRuns, teardownRun } from "./leftovers.ts";
import { ensurePodnetBuilt, PODNET, REPO } from "./podnet-build.ts";

export const CLUSTER_CIDR = "10.244.0.0/16";
export const NETWORK = "pntest-cluster";
export const ECHO_PORT = 8080;
const REFERENCE_PLUGINS = "/usr/lib/cni";

export interface ClusterNode {
  readonly name: string;
  readonly netns: string;
  /** Underlay address with its length, e.g. "192.0.2.11/24". */
  readonly address: string;
  readonly segment: string;
  readonly confDir: string;
  readonly stateDir: string;
  readonly readyFile: string;
  readonly conflistPath: string;
}

export interface AgentRunOptions {
  readonly backend: Backend;
  readonly leaseTtl?: number;
  readonly resync?: number;
  readonly uplink?: string;
  readonly extraArgs?: readonly string[];
}

export interface AgentProcess {
  readonly node: ClusterNode;
  readonly child: Subprocess;
  readonly logPath: string;
  readonly startedAt: number;
}

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

export interface PeerRouteEntry {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly flags?: readonly string[];
}

export interface NeighEntry {
  readonly dst: string;
  readonly lladdr?: string;
  readonly state?: readonly string[];
}

export interface FdbRow {
  readonly mac: string;
  readonly dst?: string;
  readonly state?: string;
}

/**
 * Polls `check` until it returns something other than undefined/false; returns it with the time
 * it took. The failure message carries `detail()` (agent logs, kernel state) for diagnosis.
 */
export async function pollUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  detail: () => string = () => "",
): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return { value, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      const more = detail();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${more ? `\n${more}` : ""}`);
    }
    await Bun.sleep(50);
  }
}

export function addressOf(node: ClusterNode): string {
  return node.address.split("/")[0] as string;
}

/** The JSON lines an agent logged (stderr), oldest first. */
export function agentLog(agent: AgentProcess): Record<string, unknown>[] {
  if (!existsSync(agent.logPath)) return [];
  return readFileSync(agent.logPath, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export function logTail(agent: AgentProcess, lines = 8): string {
  if (!existsSync(agent.logPath)) return "(no log)";
  return readFileSync(agent.logPath, "utf8").trim().split("\n").slice(-lines).join("\n");
}

/**
 * JSON from an `ip`/`bridge` query about the VXLAN device; empty when the device does not exist
 * (not created yet, or briefly absent while an agent recreates it for a new node IP).
 */
function vxlanJson<T>(argv: readonly string[]): T[] {
  const r = runSync(argv);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return [];
    throw new Error(`"${argv.join(" ")}" failed: ${r.stderr.trim()}`);
  }
  const text = r.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as T[]);
}

export class TestCluster {
  readonly id = randomSuffix(6);
  readonly prefix = `pntest-${this.id}`;
  readonly dir: string;
  readonly binDir: string;
  readonly datastore: string;
  readonly topology: Topology;
  readonly nodes: readonly ClusterNode[];
  private readonly namespaces: string[] = [];
  private readonly children = new Set<Subprocess>();
  private readonly pods: ClusterPod[] = [];
  private disposed = false;
  private readonly forgetExitHook: () => void;

  private constructor(nodeCount: number, datastore: string | undefined) {
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    this.forgetExitHook = disposeOnExit(() => this.dispose({ quiet: true }));
    writeFileSync(join(this.dir, OWNER_FILE), String(process.pid));
    this.binDir = `${this.dir}/bin`;
    this.datastore = datastore ?? `sqlite:${this.dir}/cluster.db`;
    this.topology = defaultTopology(nodeCount);
    this.nodes = this.topology.nodes.map((h) => this.nodeFor(h));
  }

  private nodeFor(h: HostSpec): ClusterNode {
    const base = `${this.dir}/${h.name}`;
    return {
      name: h.name,
      netns: `${this.prefix}-${h.name}`,
      address: h.address,
      segment: h.segment,
      confDir: `${base}/net.d`,
      stateDir: `${base}/state`,
      readyFile: `${base}/state/ready`,
      conflistPath: `${base}/net.d/${CONFLIST_NAME}`,
    };
  }

  /**
   * The underlay of `defaultTopology(nodeCount)`: node1, node2, node4... on lan1 (192.0.2.0/24),
   * node3, node6... behind the router on lan2 (198.51.100.0/24). No agent runs yet. Agents use a
   * SQLite file of the cluster's own unless `datastore` names another (as seen from the nodes).
   */
  static create(nodeCount: number, options: { datastore?: string } = {}): TestCluster {
    if (process.getuid?.() !== 0) throw new Error("cluster tests create network namespaces: run as root");
    ensurePodnetBuilt();
    sweepStaleRuns();
    const c = new TestCluster(nodeCount, options.datastore);
    try {
      mustRunSync([PODNET, "install-cni", "--bin-dir", c.binDir]);
      const names = {
        switchNetns: (s: string) => c.track(`${c.prefix}-sw-${s}`),
        routerNetns: c.track(`${c.prefix}-router`),
        hostNetns: (h: string) => c.track(`${c.prefix}-${h}`),
      };
      buildUnderlay(c.topology, names, c.topology.nodes);
      for (const n of c.nodes) mkdirSync(n.confDir, { recursive: true });
      return c;
    } catch (e) {
      c.dispose({ quiet: true });
      throw e;
    }
  }

  private track(ns: string): string {
    if (!this.namespaces.includes(ns)) this.namespaces.push(ns);
    return ns;
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`the test cluster has no node ${name}`);
    return n;
  }

  agentArgv(node: ClusterNode, o: AgentRunOptions): string[] {
    return [
      PODNET,
      "agent",
      "--datastore",
      this.datastore,
      "--node-name",
      node.name,
      "--backend",
      o.backend,
      "--uplink",
      o.uplink ?? "eth0",
      "--cluster-cidr",
      CLUSTER_CIDR,
      "--cni-conf-dir",
      node.confDir,
      "--network",
      NETWORK,
      "--state-dir",
      node.stateDir,
      "--lease-ttl",
      String(o.leaseTtl ?? 5),
      // Blocks on the same short clock as the record, so these tests see both go at the TTL.
      "--block-grace",
      String(o.leaseTtl ?? 5),
      "--resync",
      String(o.resync ?? 1),
      "--metrics-addr",
      "127.0.0.1:9464",
      ...(o.extraArgs ?? []),
    ];
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
      this.children.add(child);
      return { node, child, logPath, startedAt: Date.now() };
    } finally {
      closeSync(fd);
    }
  }

  /** Waits for the agent's ready file and conflist (the agent has done its first route sync). */
  async waitReady(agent: AgentProcess, timeoutMs = 15_000): Promise<number> {
    const { ms } = await pollUntil(
      `the agent of ${agent.node.name} to get ready`,
      () => {
        if (agent.child.exitCode !== null)
          throw new Error(
            `the agent of ${agent.node.name} exited (${agent.child.exitCode}): ${logTail(agent)}`,
          );
        return existsSync(agent.node.readyFile) && existsSync(agent.node.conflistPath);
      },
      timeoutMs,
      () => logTail(agent),
    );
    return ms;
  }

  /** Sends `signal` and returns the exit code (fails if the agent does not exit in time). */
  async stopAgent(agent: AgentProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM", timeoutMs = 10_000) {
    agent.child.kill(signal);
    const code = await Promise.race([
      agent.child.exited,
      Bun.sleep(timeoutMs).then(() => "timeout" as const),
    ]);
    if (code === "timeout") {
      agent.child.kill("SIGKILL");
      throw new Error(`the agent of ${agent.node.name} did not exit within ${timeoutMs} ms after ${signal}`);
    }
    this.children.delete(agent.child);
    return code;
  }

  /** IPv4 routes podnet owns in the node (protocol 200). */
  peerRoutes(name: string): PeerRouteEntry[] {
    return ipJsonIn<PeerRouteEntry>(this.node(name).netns, ["-4", "route", "show", "proto", "200"]);
  }

  routeTo(name: string, block: string): PeerRouteEntry | undefined {
    return this.peerRoutes(name).find((r) => r.dst === block);
  }

  neighs(name: string): NeighEntry[] {
    return vxlanJson<NeighEntry>([
      "ip",
      "-n",
      this.node(name).netns,
      "-j",
      "neigh",
      "show",
      "dev",
      VXLAN_DEV,
    ]);
  }

  fdb(name: string): FdbRow[] {
    return vxlanJson<FdbRow>(["bridge", "-n", this.node(name).netns, "-j", "fdb", "show", "dev", VXLAN_DEV]);
  }

  hasVxlan(name: string): boolean {
    return runSync(["ip", "-n", this.node(name).netns, "link", "show", "dev", VXLAN_DEV]).code === 0;
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
    const netns = this.track(`${this.prefix}-${name}`);
    const netnsPath = createNetns(netns);
    const containerId = `${this.prefix}-${name}`;
    const result = (await this.runtime(nodeName).add({
      containerId,
      ifname: "eth0",
      netnsPath,
      args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: name },
      ...(options.labels ? { labels: options.labels } : {}),
    })) as { ips?: { address: string }[] };
    const ip = result.ips?.[0]?.address.split("/")[0];
    if (!ip) throw new Error(`ADD of ${name} returned no address: ${JSON.stringify(result)}`);
    const logPath = `${this.dir}/echo-${name}.log`;
    const fd = openSync(logPath, "a");
    try {
      const child = Bun.spawn(
        inNetns(netns, [PODNET, "lab", "echo-server", "--pod", name, "--port", String(ECHO_PORT)]),
        { stdin: "ignore", stdout: fd, stderr: fd },
      );
      this.children.add(child);
    } finally {
      closeSync(fd);
    }
    await pollUntil(
      `the echo server of ${name}`,
      () => existsSync(logPath) && readFileSync(logPath, "utf8").includes("listening"),
      10_000,
      () => readFileSync(logPath, "utf8"),
    );
    const pod = { name, node: nodeName, netns, ip, containerId, netnsPath };
    this.pods.push(pod);
    return pod;
  }

  /** One TCP connection from namespace `ns` to an echo server; throws when it cannot connect. */
  async probe(ns: string, host: string, timeoutMs = 2000): Promise<EchoProbe> {
    const r = await run(
      inNetns(ns, [
        PODNET,
        "lab",
        "echo-client",
        "--host",
        host,
        "--port",
        String(ECHO_PORT),
        "--timeout",
        String(timeoutMs),
      ]),
      { timeoutMs: timeoutMs + 5000 },
    );
    if (r.code !== 0) throw new Error(`probe from ${ns} to ${host} failed: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as EchoProbe;
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
    if (this.disposed) return;
    this.disposed = true;
    this.forgetExitHook();
    teardownRun(
      { prefix: this.prefix, dir: this.dir, namespaces: this.namespaces, children: this.children },
      options.quiet,
    );
  }
}

/** How a node must reach a peer's block: "none" means no podnet route at all. */
export type PathKind = "direct" | "vxlan" | "none";

function vxlanMac(c: TestCluster, name: string): string | undefined {
  const [link] = vxlanJson<{ address?: string }>([
    "ip",
    "-n",
    c.node(name).netns,
    "-j",
    "link",
    "show",
    "dev",
    VXLAN_DEV,
  ]);
  return link?.address;
}

/**
 * Everything that differs from the expected peer routes, read from the kernel: a direct route via
 * the peer's node IP on eth0, or a route via the peer's VTEP (its block's network address) on the
 * VXLAN device, onlink, with a permanent neighbour entry holding the MAC of the peer's own VXLAN
 * device and an FDB entry sending that MAC to the peer's node IP. Empty when all is as expected.
 */
export function routeProblems(
  c: TestCluster,
  names: readonly string[],
  kind: (from: string, to: string) => PathKind,
  nodeIP: (name: string) => string = (n) => addressOf(c.node(n)),
): string[] {
  const problems: string[] = [];
  for (const from of names) {
    const routes = c.peerRoutes(from);
    let wanted = 0;
    for (const to of names) {
      if (to === from) continue;
      const block = c.blockOf(to);
      const route = routes.find((r) => r.dst === block);
      const k = kind(from, to);
      const show = `${from}→${to} (${block}): ${JSON.stringify(route ?? null)}`;
      if (k === "none") {
        if (route) problems.push(`${show} should have no route`);
        continue;
      }
      wanted++;
      if (k === "direct") {
        const onlink = route?.flags?.includes("onlink") ?? false;
        if (route?.gateway !== nodeIP(to) || route.dev !== "eth0" || onlink)
          problems.push(`${show} should be via ${nodeIP(to)} dev eth0`);
        continue;
      }
      const vtep = block.split("/")[0] as string;
      if (route?.gateway !== vtep || route.dev !== VXLAN_DEV || !route.flags?.includes("onlink"))
        problems.push(`${show} should be via ${vtep} dev ${VXLAN_DEV} onlink`);
      const mac = vxlanMac(c, to);
      if (!mac) {
        problems.push(`${to} has no ${VXLAN_DEV}`);
        continue;
      }
      const neigh = c.neighs(from).find((n) => n.dst === vtep);
      if (neigh?.lladdr !== mac || !neigh.state?.includes("PERMANENT"))
        problems.push(
          `${from}: neighbour ${vtep} should be ${mac} permanent, is ${JSON.stringify(neigh ?? null)}`,
        );
      const fdb = c.fdb(from).filter((f) => f.mac === mac);
      if (fdb.length !== 1 || fdb[0]?.dst !== nodeIP(to) || fdb[0]?.state !== "permanent")
        problems.push(`${from}: fdb for ${mac} should send to ${nodeIP(to)}, is ${JSON.stringify(fdb)}`);
    }
    if (routes.length !== wanted)
      problems.push(
        `${from} has ${routes.length} podnet routes, expected ${wanted}: ${JSON.stringify(routes)}`,
      );
  }
  return problems;
}

/** Every pair of the given blocks that overlap (the same block twice included), as "a ∩ b". */
export function overlappingBlocks(blocks: readonly string[]): string[] {
  const parsed = blocks.map((b) => parsePrefix(b));
  const pairs: string[] = [];
  for (let i = 0; i < parsed.length; i++)
    for (let j = i + 1; j < parsed.length; j++)
      if (prefixesOverlap(parsed[i] as IPPrefix, parsed[j] as IPPrefix))
        pairs.push(`${blocks[i]} ∩ ${blocks[j]}`);
  return pairs;
}

/** The value of one sample in Prometheus text format, undefined when absent. */
export function metricValue(text: string, sample: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    if (line.slice(0, cut) === sample) return Number(line.slice(cut + 1));
  }
  return undefined;
}

/** A TestCluster shared by the tests of the enclosing describe (underlay built in beforeAll). */
export function useTestCluster(nodeCount: number): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(() => {
    cluster = TestCluster.create(nodeCount);
  });
  afterAll(() => {
    const c = cluster;
    cluster = undefined;
    c?.dispose();
  });
  return () => {
    if (!cluster) throw new Error("the test cluster is not set up (beforeAll failed?)");
    return cluster;
  };
}

export interface WorkerClaim {
  readonly node: string;
  readonly lease: string;
  readonly blocks: readonly string[];
}

export interface ClaimWorkersOptions {
  /** One `--datastore` spec per client; clients are spread over the worker processes. */
  readonly clientSpecs: readonly string[];
  readonly nodes: readonly string[];
  readonly processes: number;
  readonly leaseTtl?: number;
}

/**
 * Claims one block per node from several processes at once, each holding several datastore
 * clients, as agents starting together on many machines do. A barrier makes the claims overlap:
 * every process opens its clients and grants its leases, says "ready", and claims only once all
 * of them are ready. Throws when a process fails (a claim error included).
 */
export async function claimInWorkers(o: ClaimWorkersOptions): Promise<WorkerClaim[]> {
  const src = `${REPO}/src`;
  const script = `
    import { claimBlocks } from "${src}/cluster/block-leases.ts";
    import { readClusterConfig } from "${src}/cluster/cluster-config-store.ts";
    import { formatPrefix } from "${src}/ipnet/prefix.ts";
    import { openStore } from "${src}/store/open-store.ts";
    const job = JSON.parse(process.env.PNTEST_CLAIM_JOB);
    const stores = await Promise.all(job.specs.map((s) => openStore(s)));
    const config = await readClusterConfig(stores[0]);
    if (!config) throw new Error("no cluster config");
    const client = (i) => stores[i % stores.length];
    const leases = await Promise.all(job.nodes.map((_, i) => client(i).grantLease(job.ttl)));
    console.log("ready");
    for await (const line of console) if (line.trim() === "go") break;
    const out = await Promise.all(job.nodes.map(async (node, i) => {
      const blocks = await claimBlocks(client(i), config, node, leases[i].id);
      return { node, lease: leases[i].id, blocks: blocks.map(formatPrefix) };
    }));
    await Promise.all(stores.map((s) => s.close()));
    console.log(JSON.stringify(out));
  `;
  const workers = Array.from({ length: o.processes }, (_, p) => {
    const job = {
      specs: o.clientSpecs.filter((_, i) => i % o.processes === p),
      nodes: o.nodes.filter((_, i) => i % o.processes === p),
      ttl: o.leaseTtl ?? 60,
    };
    const proc = Bun.spawn([process.execPath, "-e", script], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, PNTEST_CLAIM_JOB: JSON.stringify(job) },
    });
    const worker = { proc, out: "", done: Promise.resolve() };
    worker.done = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) worker.out += decoder.decode(chunk, { stream: true });
    })();
    return worker;
  });
  const failed = async () => {
    for (const [p, w] of workers.entries()) {
      if (w.proc.exitCode !== null && w.proc.exitCode !== 0)
        return `claim worker ${p} failed (exit ${w.proc.exitCode}): ${(await new Response(w.proc.stderr).text()).trim()}`;
    }
    return undefined;
  };
  try {
    await pollUntil(
      "every claim worker to be ready",
      async () => {
        const problem = await failed();
        if (problem) throw new Error(problem);
        return workers.every((w) => w.out.startsWith("ready\n"));
      },
      30_000,
    );
    for (const w of workers) {
      w.proc.stdin.write("go\n");
      w.proc.stdin.flush();
    }
    await Promise.all(workers.map((w) => Promise.race([w.proc.exited, Bun.sleep(60_000)])));
    const problem = await failed();
    if (problem) throw new Error(problem);
    await Promise.all(workers.map((w) => w.done));
    return workers.flatMap((w) => JSON.parse(w.out.slice("ready\n".length)) as WorkerClaim[]);
  } finally {
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
  }
}

/**
 * What `p` rejected with; fails when it resolved. Used instead of `expect(p).rejects`, which in
 * this Bun version holds the event loop while it waits, so an etcd (gRPC) call under it never
 * gets its answer and times out.
 */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error instanceof Error ? outcome.error : new Error(String(outcome.error));
}

/**
 * Node agents on a three-member etcd cluster. The members listen on loopback in this process's
 * namespace, which the node namespaces cannot reach, so each node gets a small bridge: a process
 * inside the node namespace listening on 127.0.0.1:2379x that relays every connection through a
 * unix socket (file system objects cross namespaces) to a relay here that connects to the real
 * member. A member taken down has its node-side listener closed too, so agents see what they see
 * of a crashed member: connections dropped, new ones refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Subprocess } from "bun";
import { pollUntil } from "../../src/base/poll-until.ts";
import { listBlockLeases } from "../../src/cluster/block-leases.ts";
import { listNodes } from "../../src/cluster/node-registry.ts";
import type { EtcdMember } from "../../src/linux/etcd-process.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { Store } from "../../src/store/store.ts";
import { logTail } from "./harness/agent-log.ts";
import type { AgentProcess } from "./harness/cluster-agent.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { type PathKind, routeProblems } from "./harness/route-problems.ts";
import { type EtcdBackend, etcdBackend } from "./harness/store-backends.ts";
import { TestCluster } from "./harness/test-cluster.ts";

const NODE_PORTS = [23790, 23791, 23792];
const SPEC = `etcd://${NODE_PORTS.map((p) => `127.0.0.1:${p}`).join(",")}`;
const TTL = 5;
const lan1 = new Set(["node1", "node2"]);
const autoPath = (from: string, to: string): PathKind =>
  lan1.has(from) && lan1.has(to) ? "direct" : "vxlan";

function countLines(text: string, line: string): number {
  return text.split("\n").filter((l) => l === line).length;
}

function relay(a: Socket, b: Socket): void {
  const done = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on("error", done);
    s.on("close", done);
  }
  a.pipe(b);
  b.pipe(a);
}

// Runs inside a node namespace: one TCP listener per member, relayed to that member's unix socket;
// "close PORT" / "open PORT" on stdin take a listener down (connections dropped) or up again.
const NODE_SIDE = `
  import { connect, createServer } from "node:net";
  const maps = JSON.parse(process.env.PNTEST_BRIDGE);
  const servers = new Map();
  const open = (m) => new Promise((resolve, reject) => {
    const live = new Set();
    const server = createServer((c) => {
      const up = connect(m.path);
      live.add(c);
      const done = () => { c.destroy(); up.destroy(); live.delete(c); };
      for (const s of [c, up]) { s.on("error", done); s.on("close", done); }
      c.pipe(up); up.pipe(c);
    });
    server.once("error", reject);
    server.listen(m.port, "127.0.0.1", () => resolve());
    servers.set(m.port, { server, live });
  });
  for (const m of maps) await open(m);
  console.log("ready");
  for await (const line of console) {
    const [cmd, port] = line.trim().split(" ");
    const s = servers.get(Number(port));
    if (cmd === "close" && s) { s.server.close(); for (const c of s.live) c.destroy(); servers.delete(Number(port)); }
    if (cmd === "open" && !s) await open(maps.find((m) => m.port === Number(port)));
    console.log("done " + line.trim());
  }
`;

class EtcdBridge {
  private readonly servers: Server[] = [];
  private readonly nodeSides: { proc: Subprocess<"pipe", "pipe", "inherit">; out: string }[] = [];

  constructor(
    private readonly members: readonly EtcdMember[],
    private readonly dir: string,
  ) {}

  private socket(i: number): string {
    return `${this.dir}/etcd-m${i}.sock`;
  }

  async listen(): Promise<void> {
    for (const [i, m] of this.members.entries()) {
      const server = createServer((c) => relay(c, connect(m.clientPort, m.host)));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(this.socket(i), () => resolve());
      });
      this.servers.push(server);
    }
  }

  async startIn(netns: string): Promise<void> {
    const maps = NODE_PORTS.map((port, i) => ({ port, path: this.socket(i) }));
    const proc = Bun.spawn(inNetns(netns, [process.execPath, "-e", NODE_SIDE]), {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
      env: { ...process.env, PNTEST_BRIDGE: JSON.stringify(maps) },
    });
    const side = { proc, out: "" };
    this.nodeSides.push(side);
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) side.out += decoder.decode(chunk, { stream: true });
    })();
    await pollUntil(`the etcd bridge in ${netns}`, () => countLines(side.out, "ready") > 0, 10_000);
  }

  /** Takes member `i`'s node-side listeners down or up, waiting until every node did it. */
  async setReachable(i: number, reachable: boolean): Promise<void> {
    const line = `${reachable ? "open" : "close"} ${NODE_PORTS[i]}`;
    const before = this.nodeSides.map((s) => countLines(s.out, `done ${line}`));
    for (const side of this.nodeSides) {
      side.proc.stdin.write(`${line}\n`);
      side.proc.stdin.flush();
    }
    await pollUntil(
      `bridges to ${line}`,
      () => this.nodeSides.every((s, k) => countLines(s.out, `done ${line}`) > (before[k] ?? 0)),
      5000,
    );
  }

  close(): void {
    for (const s of this.nodeSides) s.proc.kill("SIGKILL");
    for (const s of this.servers) s.close();
  }
}

async function leaderOf(members: readonly EtcdMember[]): Promise<EtcdMember> {
  const { value } = await pollUntil(
    "an etcd leader",
    async () => {
      for (const m of members) {
        if (!m.running) continue;
        const res = await fetch(`http://${m.endpoint}/metrics`).catch(() => undefined);
        if (res && /^etcd_server_is_leader 1$/m.test(await res.text())) return m;
      }
      return undefined;
    },
    10_000,
  );
  return value;
}

describe("podnet agent on a three-member etcd", () => {
  let etcd: EtcdBackend | undefined;
  let cluster: TestCluster | undefined;
  let bridge: EtcdBridge | undefined;
  let store: Store;
  const agents = new Map<string, AgentProcess>();
  const c = () => cluster as TestCluster;
  const logs = () => [...agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a)}`).join("\n");

  async function expectRoutes(names: readonly string[], nodeIP?: (n: string) => string, timeoutMs = 8000) {
    let last: string[] = [];
    return pollUntil(
      `routes between ${names.join(", ")}`,
      () => {
        last = routeProblems(c(), names, autoPath, nodeIP);
        return last.length === 0;
      },
      timeoutMs,
      { detail: () => `${last.join("\n")}\n${logs()}` },
    );
  }

  beforeAll(async () => {
    etcd = await etcdBackend(3);
    store = await etcd.open();
    cluster = TestCluster.create(3, { datastore: SPEC });
    bridge = new EtcdBridge(etcd.cluster.members, cluster.dir);
    await bridge.listen();
    for (const n of cluster.nodes) await bridge.startIn(n.netns);
    for (const n of ["node1", "node2", "node3"])
      agents.set(n, cluster.startAgent(n, { backend: "auto", leaseTtl: TTL, resync: 1 }));
    await Promise.all([...agents.values()].map((a) => c().waitReady(a)));
  }, 60_000);

  afterAll(async () => {
    bridge?.close();
    cluster?.dispose();
    await etcd?.dispose();
  }, 30_000);

  test("agents register, lease distinct blocks and route to each other through etcd", async () => {
    await expectRoutes(["node1", "node2", "node3"]);
    const { leases } = await listBlockLeases(store);
    expect(leases.map((l) => l.node).sort()).toEqual(["node1", "node2", "node3"]);
    expect(new Set(leases.map((l) => l.block.network.value)).size).toBe(3);
    const { nodes } = await listNodes(store);
    expect(nodes.map((n) => n.name).sort()).toEqual(["node1", "node2", "node3"]);
  });

  test("with the etcd leader down, agents keep their leases and follow a node IP change", async () => {
    const e = etcd as EtcdBackend;
    const leader = await leaderOf(e.cluster.members);
    const index = e.cluster.members.indexOf(leader);
    await e.cluster.stop(leader, "SIGKILL");
    await (bridge as EtcdBridge).setReachable(index, false);
    const down = Date.now();

    c().moveAddress("node2", "192.0.2.12/24", "192.0.2.52/24");
    // A write caught by the election waits out its 3 s deadline before the agent retries it.
    const { ms } = await expectRoutes(
      ["node1", "node2", "node3"],
      (n) => (n === "node2" ? "192.0.2.52" : addressOf(c().node(n))),
      12_000,
    );
    expect(ms).toBeLessThan(10_000);
    // Past a lease TTL (plus the election, which refreshes leases) without the old leader: the
    // leases were renewed through the other members.
    await Bun.sleep(Math.max(0, down + TTL * 1000 + 3000 - Date.now()));
    const { leases } = await listBlockLeases(store);
    expect(leases.map((l) => l.node).sort()).toEqual(["node1", "node2", "node3"]);
    await expectRoutes(["node1", "node2", "node3"], (n) =>
      n === "node2" ? "192.0.2.52" : addressOf(c().node(n)),
    );
    for (const a of agents.values()) expect(a.child.exitCode).toBeNull();

    await e.cluster.start(leader);
    await (bridge as EtcdBridge).setReachable(index, true);
  }, 40_000);

  test("a stopped node's routes disappear from its peers once etcd expires its lease", async () => {
    const b3 = c().blockOf("node3");
    expect(await c().stopAgent(agents.get("node3") as AgentProcess)).toBe(0);
    agents.delete("node3");
    const { ms } = await pollUntil(
      "peers dropping node3's routes",
      () => ["node1", "node2"].every((n) => c().routeTo(n, b3) === undefined),
      (TTL + 5) * 1000,
      { detail: logs },
    );
    expect(ms).toBeGreaterThan((TTL * 2 * 1000) / 3 - 500);
    const { leases } = await listBlockLeases(store);
    expect(leases.map((l) => l.node).sort()).toEqual(["node1", "node2"]);
  }, 20_000);
});

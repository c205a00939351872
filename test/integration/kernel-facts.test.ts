/**
 * The kernel readers and the tracing primitives of src/linux/ against a real kernel, inside two
 * namespaces of our own (`pntest-<id>-n1`, `-n2`, a TestRun's; nothing touches the root namespace):
 * n1 has a bridge, a VXLAN device with its neighbour and FDB entry, a peer route, an unreachable
 * route and a DNAT rule for a "ClusterIP"; n2 runs a TCP/UDP server on 8080. A child process in
 * n1 installs tracing tables, starts the monitor, makes a real connection through the DNAT and
 * sends a datagram over VXLAN; what it saw (events, counters, conntrack) is checked here. The
 * proxy's table is read from the golden rulesets, and as the live one of its two names.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pollUntil } from "../../src/base/poll-until.ts";
import { listProxyMap } from "../../src/lab/proxy-map.ts";
import { mustRunSync, run, runSync } from "../../src/linux/exec.ts";
import type { ConntrackFact, CounterFact, TraceEvent } from "../../src/linux/kernel-facts.ts";
import { readInterfaces } from "../../src/linux/link-facts.ts";
import { readFdb, readNeighbours } from "../../src/linux/neighbour-facts.ts";
import { inNetns, netnsExists, randomSuffix } from "../../src/linux/netns.ts";
import {
  liveProxyTableName,
  parseNftTableText,
  readNftTable,
  readProxyTable,
} from "../../src/linux/nft-facts.ts";
import { lookupRoute, readRoutes } from "../../src/linux/route-facts.ts";
import { deleteTraceTable, listTraceTables, readTraceCounters } from "../../src/linux/trace-table.ts";
import { proxyTableListing } from "./harness/proxy-table.ts";
import { TestRun } from "./harness/test-run.ts";

const LINUX = join(import.meta.dir, "../../src/linux");
const PROXY_GOLDEN = join(import.meta.dir, "../../src/proxy/golden");
const BUN = process.execPath;

let testRun: TestRun | undefined;
let n1 = "";
let n2 = "";
let n1Path = "";
const id = randomSuffix(10);
const TCP_TABLE = `podnet-trace-${id}t`;
const UDP_TABLE = `podnet-trace-${id}u`;

const SERVER = `
const tcp = Bun.listen({ hostname: "0.0.0.0", port: 8080, socket: { data(s) { s.write("hello\\n"); s.end(); } } });
const udp = await Bun.udpSocket({ port: 8080, socket: { data(sock, _buf, port, addr) { sock.send("hello", port, addr); } } });
console.log("ready");
`;

/** Runs in n1: tracing tables, monitor, real traffic, then what was seen as one JSON document. */
const CHILD = `
import { listConntrack } from "${LINUX}/conntrack-list.ts";
import { startTraceMonitor } from "${LINUX}/nft-trace-monitor.ts";
import { installTraceTable, listTraceTables, readTraceCounters } from "${LINUX}/trace-table.ts";
import { createSocket } from "node:dgram";
import { readdirSync, readFileSync } from "node:fs";
import { pollUntil } from "${LINUX}/../base/poll-until.ts";
const [tcpTable, udpTable] = process.argv.slice(2);
await installTraceTable({ table: tcpTable, l4proto: "tcp", pairs: [["192.0.2.1", "10.96.0.10"], ["192.0.2.1", "192.0.2.2"]],
  ports: [80, 8080], vxlan: { port: 4789, peers: ["192.0.2.2"] }, sentinel: { address: "127.0.0.1", port: 39001 } });
await installTraceTable({ table: udpTable, l4proto: "udp", pairs: [["192.0.2.1", "192.0.2.2"]],
  ports: [8083], vxlan: { port: 4789, peers: [] }, sentinel: { address: "127.0.0.1", port: 39002 } });
const tables = await listTraceTables();
const t0 = Date.now();
const monitor = await startTraceMonitor({ sentinel: { address: "127.0.0.1", port: 39001 }, readyTimeoutMs: 5000 });
const readyMs = Date.now() - t0;
const eventsAtReady = monitor.events().length;
const answer = await new Promise((resolve, reject) => {
  let got = "";
  Bun.connect({ hostname: "10.96.0.10", port: 80, socket: {
    open(s) { s.write("hi"); }, data(_s, d) { got += d.toString(); }, close() { resolve(got.trim()); }, error(_s, e) { reject(e); },
  } }).catch(reject);
});
const send = (port, address) => new Promise((resolve) => {
  const s = createSocket("udp4"); s.on("error", () => {}); s.send("probe", port, address, () => { s.close(); resolve(); });
});
await send(8083, "192.0.2.2");   // rejected by the test's filter rule
await send(5000, "10.244.2.9");  // routed into the VXLAN device, encapsulated towards 192.0.2.2
await Bun.sleep(300);            // the monitor reads what the kernel already sent (trace events are asynchronous)
const events = await monitor.stop();
const conntrack = (await listConntrack({ addresses: ["10.96.0.10"] })).entries;
const counters = await readTraceCounters(tcpTable);
// A monitor whose nft dies (killed here by its pid: our own child) says so, and stop() still resolves.
const doomed = await startTraceMonitor({ sentinel: { address: "127.0.0.1", port: 39001 }, readyTimeoutMs: 5000 });
const nftPid = readdirSync("/proc").filter((d) => /^\\d+$/.test(d)).find((d) => {
  try {
    const m = /^\\d+ \\((.*)\\) \\S+ (\\d+)/.exec(readFileSync("/proc/" + d + "/stat", "utf8"));
    return m !== null && m[1] === "nft" && Number(m[2]) === process.pid;
  } catch { return false; }
});
process.kill(Number(nftPid), "SIGKILL");
await pollUntil("the monitor to notice its nft died", () => doomed.failure() !== undefined, 5000);
const afterDeath = await doomed.stop();
console.log(JSON.stringify({ tables, readyMs, eventsAtReady, answer, events, conntrack, counters, failure: monitor.failure() ?? null,
  deathFailure: doomed.failure() ?? null, eventsAfterDeath: afterDeath.length }));
`;

interface ChildReport {
  tables: string[];
  readyMs: number;
  eventsAtReady: number;
  answer: string;
  events: TraceEvent[];
  conntrack: ConntrackFact[];
  counters: CounterFact[];
  failure: string | null;
  deathFailure: string | null;
  eventsAfterDeath: number;
}

function ip(ns: string, ...args: string[]): void {
  mustRunSync(["ip", "-n", ns, ...args]);
}

beforeAll(async () => {
  testRun = new TestRun();
  const a = testRun.createNetns("n1");
  const b = testRun.createNetns("n2");
  n1 = a.name;
  n1Path = a.path;
  n2 = b.name;
  ip(n1, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", n2);
  ip(n1, "addr", "add", "192.0.2.1/24", "dev", "eth0");
  ip(n2, "addr", "add", "192.0.2.2/24", "dev", "eth0");
  ip(n1, "link", "set", "eth0", "up");
  ip(n2, "link", "set", "eth0", "up");
  ip(n1, "link", "add", "br0", "type", "bridge");
  ip(n1, "addr", "add", "10.244.1.1/24", "dev", "br0");
  ip(n1, "link", "set", "br0", "up");
  ip(
    n1,
    "link",
    "add",
    "vx0",
    "type",
    "vxlan",
    "id",
    "4096",
    "dstport",
    "4789",
    "local",
    "192.0.2.1",
    "dev",
    "eth0",
    "nolearning",
  );
  ip(n1, "link", "set", "vx0", "alias", "podnet:test-vxlan");
  ip(n1, "addr", "add", "10.244.1.0/32", "dev", "vx0");
  ip(n1, "link", "set", "vx0", "up");
  ip(n1, "route", "add", "10.244.2.0/24", "via", "10.244.2.0", "dev", "vx0", "onlink", "proto", "200");
  ip(n1, "neigh", "add", "10.244.2.0", "lladdr", "02:00:0a:f4:02:00", "dev", "vx0", "nud", "permanent");
  mustRunSync([
    "bridge",
    "-n",
    n1,
    "fdb",
    "append",
    "02:00:0a:f4:02:00",
    "dev",
    "vx0",
    "dst",
    "192.0.2.2",
    "self",
    "permanent",
  ]);
  ip(n1, "route", "add", "unreachable", "10.99.0.0/16");
  ip(n1, "route", "add", "default", "via", "192.0.2.2");
  mustRunSync(inNetns(n1, ["sysctl", "-qw", "net.ipv4.ip_forward=1"]));
  // A "ClusterIP" DNATed to n2's server, and a reject the UDP trace must show.
  mustRunSync(inNetns(n1, ["nft", "-f", "-"]), {
    stdin: `table ip h1test {
	chain out { type nat hook output priority -100; policy accept; ip daddr 10.96.0.10 tcp dport 80 counter dnat to 192.0.2.2:8080 comment "svc default/web"; }
	chain filt { type filter hook output priority 0; policy accept; udp dport 8083 reject; }
}
`,
  });
  const serverPath = join(testRun.dir, "server.ts");
  const serverLog = join(testRun.dir, "server.log");
  writeFileSync(serverPath, SERVER);
  writeFileSync(serverLog, "");
  const server = Bun.spawn(inNetns(n2, [BUN, serverPath]), {
    stdout: Bun.file(serverLog),
    stderr: Bun.file(serverLog),
  });
  testRun.adopt(server);
  await pollUntil("the test server in n2", () => readFileSync(serverLog, "utf8").includes("ready"), 15_000, {
    detail: () => readFileSync(serverLog, "utf8"),
  });
}, 60_000);

afterAll(() => {
  testRun?.dispose();
  expect(netnsExists(n1)).toBe(false);
  expect(netnsExists(n2)).toBe(false);
});

describe("links, routes, neighbours and FDB read back what was set", () => {
  test("readInterfaces: addresses, bridge, VXLAN details, alias; a missing device is none", async () => {
    const links = await readInterfaces({ netnsPath: n1Path });
    const by = new Map(links.map((l) => [l.name, l]));
    expect(by.get("eth0")).toMatchObject({ kind: "veth", up: true, mtu: 1500 });
    expect(by.get("eth0")?.addresses).toContain("192.0.2.1/24");
    expect(by.get("br0")?.kind).toBe("bridge");
    expect(by.get("br0")?.addresses).toContain("10.244.1.1/24");
    expect(by.get("vx0")).toMatchObject({ kind: "vxlan", alias: "podnet:test-vxlan", mtu: 1450 });
    expect(by.get("vx0")?.vxlan).toEqual({ vni: 4096, port: 4789, local: "192.0.2.1", dev: "eth0" });
    expect(by.get("vx0")?.addresses).toContain("10.244.1.0/32");
    expect(await readInterfaces({ netnsPath: n1Path, dev: "vx0" })).toHaveLength(1);
    expect(await readInterfaces({ netnsPath: n1Path, dev: "nope0" })).toEqual([]);
  });

  test("readRoutes: the peer route through VXLAN, the unreachable route, the default route", async () => {
    const routes = await readRoutes({ netnsPath: n1Path });
    expect(routes).toContainEqual({
      dst: "10.244.2.0/24",
      dev: "vx0",
      via: "10.244.2.0",
      proto: "200",
      onlink: true,
      type: "unicast",
    });
    expect(routes).toContainEqual({ dst: "10.99.0.0/16", onlink: false, type: "unreachable" });
    expect(routes.find((r) => r.dst === "default")).toMatchObject({ via: "192.0.2.2", dev: "eth0" });
  });

  test("lookupRoute: the kernel's decision, with from/iif, and its refusal as text", async () => {
    expect((await lookupRoute({ dst: "10.244.2.7" }, { netnsPath: n1Path })).route).toMatchObject({
      dst: "10.244.2.7/32",
      dev: "vx0",
      via: "10.244.2.0",
    });
    const forwarded = await lookupRoute(
      { dst: "192.0.2.2", from: "10.244.1.5", iif: "br0" },
      { netnsPath: n1Path },
    );
    expect(forwarded.route).toMatchObject({ dev: "eth0" });
    expect(forwarded.route?.via).toBeUndefined();
    const refused = await lookupRoute({ dst: "10.99.1.1" }, { netnsPath: n1Path });
    expect(refused.route).toBeUndefined();
    expect(refused.error).toContain("No route to host");
  });

  test("readNeighbours and readFdb: the VTEP's MAC and its remote; a missing device has no entries", async () => {
    expect(await readNeighbours({ netnsPath: n1Path })).toContainEqual({
      dev: "vx0",
      address: "10.244.2.0",
      mac: "02:00:0a:f4:02:00",
      state: ["PERMANENT"],
    });
    expect(await readFdb("vx0", { netnsPath: n1Path })).toContainEqual({
      dev: "vx0",
      mac: "02:00:0a:f4:02:00",
      dst: "192.0.2.2",
      flags: ["self", "permanent"],
    });
    expect(await readFdb("nope0", { netnsPath: n1Path })).toEqual([]);
  });
});

describe("readNftTable reads every proxy golden ruleset as nft lists it", () => {
  const files = readdirSync(PROXY_GOLDEN).filter((f) => f.endsWith(".nft"));
  test.each(files)("%s", async (file) => {
    const path = join(PROXY_GOLDEN, file);
    const family = /^add table (ip6?) podnet/.exec(readFileSync(path, "utf8"))?.[1] as "ip" | "ip6";
    mustRunSync(inNetns(n1, ["nft", "-f", path]));
    try {
      const facts = await readNftTable(family, "podnet", { netnsPath: n1Path });
      const text = mustRunSync(inNetns(n1, ["nft", "list", "table", family, "podnet"])).stdout;
      expect(facts.tables).toContain(`${family} podnet`);
      expect(facts.chains.length).toBeGreaterThan(3);
      expect(facts.chains).toEqual(parseNftTableText(text));
      expect(facts.sets.map((s) => s.name)).toContain("cluster-ips");
    } finally {
      mustRunSync(inNetns(n1, ["nft", "delete", "table", family, "podnet"]));
    }
    const gone = await readNftTable(family, "podnet", { netnsPath: n1Path });
    expect(gone).toEqual({ tables: [], sets: [], chains: [] });
  });
});

describe("readProxyTable reads the live one of the proxy's two tables", () => {
  // The proxy swaps `podnet` and `podnet-b` (linux/nft-table-family.ts): here the live table is
  // a golden ruleset loaded as `podnet-b` (base chains and all) beside a half-built `podnet`
  // (sets and a regular chain, no hook), as a killed agent leaves it.
  const golden = readFileSync(join(PROXY_GOLDEN, "nodeport.nft"), "utf8").replace(
    / podnet(\s)/g,
    " podnet-b$1",
  );
  const halfBuilt =
    "add table ip podnet\nadd set ip podnet cluster-ips { type ipv4_addr; }\nadd chain ip podnet services\n";
  const load = (text: string) => mustRunSync(inNetns(n1, ["nft", "-f", "-"]), { stdin: text });
  const drop = (name: string) => runSync(inNetns(n1, ["nft", "delete", "table", "ip", name]));

  test("podnet-b with base chains is live, the half-built podnet beside it is not, nor when it is alone", async () => {
    expect(golden).toContain("table ip podnet-b {");
    load(golden);
    load(halfBuilt);
    try {
      const facts = await readProxyTable("ip", { netnsPath: n1Path });
      expect([...facts.tables].sort()).toEqual(["ip podnet", "ip podnet-b"]);
      expect(facts.liveTables).toEqual(["ip podnet-b"]);
      const live = await readNftTable("ip", "podnet-b", { netnsPath: n1Path });
      expect(facts.sets).toEqual(live.sets);
      expect(facts.chains).toEqual(live.chains);
      expect(facts.chains.map((c) => c.name)).toContain("nat-prerouting");
      expect(facts.sets.find((x) => x.name === "cluster-ips")?.elements.length).toBeGreaterThan(0);
      expect(await liveProxyTableName("ip", { netnsPath: n1Path })).toBe("podnet-b");
      // What `podnet lab check` waits on: the map of the live table.
      const map = await listProxyMap(n1, 4, "service-ips");
      expect([map.code, map.stderr]).toEqual([0, ""]);
      expect(map.stdout).toContain("table ip podnet-b {");

      // The live table gone (the half-built one left): listed, but not live, and not read.
      drop("podnet-b");
      const left = await readProxyTable("ip", { netnsPath: n1Path });
      expect(left).toEqual({ tables: ["ip podnet"], liveTables: [], sets: [], chains: [] });
      expect(await liveProxyTableName("ip", { netnsPath: n1Path })).toBeUndefined();
      const none = await listProxyMap(n1, 4, "service-ips");
      expect([none.code, none.stderr]).toEqual([
        1,
        `no live ip proxy table in ${n1}: neither podnet nor podnet-b has base chains`,
      ]);
      expect(await readProxyTable("ip6", { netnsPath: n1Path })).toEqual({
        tables: ["ip podnet"],
        liveTables: [],
        sets: [],
        chains: [],
      });
    } finally {
      drop("podnet-b");
      drop("podnet");
    }
    expect(await readProxyTable("ip", { netnsPath: n1Path })).toEqual({
      tables: [],
      liveTables: [],
      sets: [],
      chains: [],
    });
    expect(await liveProxyTableName("ip", { netnsPath: n1Path })).toBeUndefined();
  });

  test("the same table under either name lists alike (proxyTableListing); another one does not", async () => {
    const original = readFileSync(join(PROXY_GOLDEN, "nodeport.nft"), "utf8");
    load(golden);
    try {
      const asB = await proxyTableListing(n1, "podnet-b");
      expect(asB.length).toBeGreaterThan(10);
      expect(asB.join("\n")).not.toContain("podnet-b");
      expect(asB.join("\n")).not.toContain('"handle"');
      drop("podnet-b");
      load(original);
      expect(await proxyTableListing(n1, "podnet")).toEqual(asB);
      // One element fewer is another listing.
      expect(asB.some((o) => o.includes('"cluster-ips"') && o.includes("10.96.0.10"))).toBe(true);
      mustRunSync(inNetns(n1, ["nft", "delete", "element", "ip", "podnet", "cluster-ips", "{ 10.96.0.10 }"]));
      expect(await proxyTableListing(n1, "podnet")).not.toEqual(asB);
    } finally {
      drop("podnet-b");
      drop("podnet");
    }
    await expect(proxyTableListing(n1, "podnet")).rejects.toThrow(/nft -j list table ip podnet in .* failed/);
  });
});

describe("a real trace in n1", () => {
  let report: ChildReport;

  beforeAll(async () => {
    const path = join((testRun as TestRun).dir, "trace-child.ts");
    writeFileSync(path, CHILD);
    const r = await run(inNetns(n1, [BUN, path, TCP_TABLE, UDP_TABLE]), { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`trace child failed (${r.code}): ${r.stderr}\n${r.stdout}`);
    report = JSON.parse(r.stdout.trim().split("\n").pop() as string) as ChildReport;
  }, 90_000);

  const mine = (e: TraceEvent, table: string): boolean => e.family === "inet" && e.table === table;

  test("both tables were installed and listed; the monitor got ready on the sentinel, which left no events", () => {
    expect(report.tables.sort()).toEqual([TCP_TABLE, UDP_TABLE].sort());
    expect(report.readyMs).toBeLessThan(5000);
    expect(report.eventsAtReady).toBe(0);
    expect(report.events.some((e) => e.daddr === "127.0.0.1" || e.saddr === "127.0.0.1")).toBe(false);
    expect(report.answer).toBe("hello");
    expect(report.failure).toBeNull();
  });

  test("a monitor whose nft dies reports it, and stop() resolves", () => {
    expect(report.deathFailure).toContain('"nft monitor trace" exited');
    expect(report.eventsAfterDeath).toBeGreaterThanOrEqual(0);
  });

  test("the SYN is seen leaving, DNATed by the rule with its comment, and after NAT at the observer", () => {
    const syn = report.events.find(
      (e) => mine(e, TCP_TABLE) && e.chain === "trace-out" && e.type === "packet" && e.tcpFlags === "syn",
    );
    expect(syn).toMatchObject({
      saddr: "192.0.2.1",
      daddr: "10.96.0.10",
      dport: 80,
      oif: "eth0",
      l4proto: "tcp",
    });
    const dnat = report.events.find(
      (e) => e.table === "h1test" && e.type === "rule" && e.rule?.includes("dnat"),
    );
    expect(dnat).toMatchObject({
      chain: "out",
      rule: 'ip daddr 10.96.0.10 tcp dport 80 counter dnat to 192.0.2.2:8080 comment "svc default/web"',
      verdict: "accept",
      traceId: syn?.traceId,
    });
    const after = report.events.find(
      (e) => mine(e, TCP_TABLE) && e.chain === "observe-post" && e.type === "packet" && e.tcpFlags === "syn",
    );
    expect(after).toMatchObject({ saddr: "192.0.2.1", daddr: "192.0.2.2", dport: 8080 });
  });

  test("the reply is traced in prerouting, from the endpoint before conntrack un-DNATs it", () => {
    const synAck = report.events.find(
      (e) => mine(e, TCP_TABLE) && e.chain === "trace-pre" && e.type === "packet" && e.tcpFlags === "0x12",
    );
    expect(synAck).toMatchObject({ iif: "eth0", saddr: "192.0.2.2", sport: 8080, daddr: "192.0.2.1" });
  });

  test("the UDP datagram is traced to the reject rule, verdict drop", () => {
    const reject = report.events.find((e) => e.table === "h1test" && e.chain === "filt" && e.type === "rule");
    expect(reject).toMatchObject({ rule: "udp dport 8083 reject", verdict: "drop" });
    const packet = report.events.find((e) => mine(e, UDP_TABLE) && e.type === "packet" && e.dport === 8083);
    expect(packet).toMatchObject({ saddr: "192.0.2.1", daddr: "192.0.2.2", l4proto: "udp" });
  });

  test("the observer and the outer VXLAN packet are counted", () => {
    const count = (name: string): number =>
      report.counters.filter((c) => c.name === name).reduce((n, c) => n + c.packets, 0);
    expect(count("observe-post")).toBeGreaterThanOrEqual(3);
    expect(count("vxlan-out 192.0.2.2")).toBeGreaterThanOrEqual(1);
    expect(count("vxlan-in 192.0.2.2")).toBe(0);
  });

  test("conntrack lists the connection with its DNAT in the reply tuple", () => {
    const flow = report.conntrack.find((c) => c.proto === "tcp" && c.original.dst === "10.96.0.10");
    expect(flow).toMatchObject({
      original: { src: "192.0.2.1", dst: "10.96.0.10", dport: 80 },
      reply: { src: "192.0.2.2", dst: "192.0.2.1", sport: 8080 },
    });
    expect(flow?.flags).toContain("ASSURED");
  });

  test("an inbound VXLAN datagram counts as vxlan-in; deleting leaves no tracing table", async () => {
    mustRunSync(
      inNetns(n2, [
        BUN,
        "-e",
        'const s = require("node:dgram").createSocket("udp4"); s.send("x", 4789, "192.0.2.1", () => s.close());',
      ]),
    );
    const { value } = await pollUntil("the vxlan-in counter", async () => {
      const counters = await readTraceCounters(TCP_TABLE, { netnsPath: n1Path });
      const c = counters.find((x) => x.name === "vxlan-in 192.0.2.2");
      return c !== undefined && c.packets >= 1 ? c : undefined;
    });
    expect(value.chain).toBe("trace-pre");
    expect(await deleteTraceTable(TCP_TABLE, { netnsPath: n1Path })).toBe(true);
    expect(await deleteTraceTable(TCP_TABLE, { netnsPath: n1Path })).toBe(false);
    expect(await listTraceTables({ netnsPath: n1Path })).toEqual([UDP_TABLE]);
    expect(await deleteTraceTable(UDP_TABLE, { netnsPath: n1Path })).toBe(true);
    expect(await listTraceTables({ netnsPath: n1Path })).toEqual([]);
    const left = mustRunSync(inNetns(n1, ["nft", "list", "tables"])).stdout;
    expect(left).not.toContain("podnet-trace-");
  });
});

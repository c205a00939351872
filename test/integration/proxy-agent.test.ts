/**
 * The service proxy inside the node agent, on real packets: two host-gw nodes, pods labelled as
 * a runtime would label them, Services written to the datastore, and the agents' nftables and
 * conntrack doing the rest. Every claim is checked from both ends: the echo server says who it
 * is and whom it saw (NAT or not), the client says who answered (un-DNAT through conntrack).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readClusterConfig } from "../../src/cluster/cluster-config-store.ts";
import type { Service } from "../../src/cluster/service-model.ts";
import { createService, deleteService } from "../../src/cluster/service-store.ts";
import type { ServiceInput } from "../../src/cluster/service-validation.ts";
import type { EchoProbe } from "../../src/lab/echo-reply.ts";
import { mustRunSync, run, runSync } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { TABLE_NAME } from "../../src/proxy/nft-model.ts";
import { NAMES } from "../../src/proxy/nft-names.ts";
import type { Store } from "../../src/store/store.ts";
import type { AgentProcess, ClusterPod } from "./cluster-harness.ts";
import { addressOf, ECHO_PORT, logTail, metricValue, pollUntil, useTestCluster } from "./cluster-harness.ts";
import { type IpLink, ipJsonIn } from "./kernel-state.ts";
import { PODNET } from "./podnet-build.ts";

const NODES = ["node1", "node2"] as const;
/** Agents check their table every RESYNC seconds. */
const RESYNC = 2;
const WEB = ["web-1", "web-2"];
const UDP_CLIENT_PORT = 40053;
const PODS: readonly (readonly [node: string, name: string, labels: Record<string, string>])[] = [
  ["node1", "web-1", { app: "web" }],
  ["node2", "web-2", { app: "web" }],
  ["node1", "solo", { app: "solo" }],
  ["node1", "dns-a", { app: "dns" }],
  ["node2", "client", { role: "client" }],
];
const tcp = { port: 80, targetPort: ECHO_PORT } as const;
const udp = { ...tcp, protocol: "UDP" } as const;
const service = (name: string, app: string, ports: ServiceInput["ports"], more = {}): ServiceInput => ({
  namespace: "default",
  name,
  selector: { app },
  ports,
  ...more,
});
const SERVICES: readonly ServiceInput[] = [
  service("web", "web", [
    { name: "http", ...tcp, nodePort: "auto" },
    { name: "udp", ...udp, nodePort: "auto" },
  ]),
  service("affine", "web", [tcp], { sessionAffinity: { kind: "ClientIP" } }),
  service("empty", "nothing", [
    { name: "tcp", ...tcp },
    { name: "udp", ...udp },
  ]),
  service("solo", "solo", [tcp]),
  service("dns", "dns", [{ ...udp, port: 53 }]),
  service("doomed", "web", [tcp]),
];
/** Endpoints over all SERVICES once every pod of PODS is known: web 2, affine 2, solo 1, dns 1, doomed 2. */
const ENDPOINTS = 8;

type Outcome = { ok: true; probe: EchoProbe; ms: number } | { ok: false; error: string; ms: number };
type ProbeOptions = { readonly udp?: boolean; readonly localPort?: number; readonly timeoutMs?: number };

/** One `podnet lab echo-client` run inside `ns`; `ms` (spawn included) is reported, never asserted. */
async function echo(ns: string, host: string, port: number, o: ProbeOptions = {}): Promise<Outcome> {
  const timeoutMs = o.timeoutMs ?? 2000;
  const argv = [PODNET, "lab", "echo-client", "--host", host, "--port", String(port)];
  argv.push("--timeout", String(timeoutMs), ...(o.udp ? ["--udp"] : []));
  if (o.localPort !== undefined) argv.push("--local-port", String(o.localPort));
  const started = performance.now();
  const r = await run(inNetns(ns, argv), { timeoutMs: timeoutMs + 5000 });
  const ms = Math.round(performance.now() - started);
  if (r.code === 0) return { ok: true, probe: JSON.parse(r.stdout) as EchoProbe, ms };
  return { ok: false, error: r.stderr.trim(), ms };
}

async function reach(ns: string, host: string, port: number, o: ProbeOptions = {}): Promise<EchoProbe> {
  const r = await echo(ns, host, port, o);
  if (!r.ok) throw new Error(`${host}:${port}${o.udp ? "/udp" : ""} from ${ns}: ${r.error}`);
  return r.probe;
}

/** IPv4 addresses of a namespace (any interface): what its masqueraded traffic may carry. */
function addressesIn(ns: string): string[] {
  return ipJsonIn<IpLink>(ns, ["-4", "addr", "show"]).flatMap((l) => (l.addr_info ?? []).map((a) => a.local));
}

/** ICMP destination-unreachable messages the namespace has received (/proc/net is per netns). */
function icmpUnreachables(ns: string): number {
  const snmp = mustRunSync(inNetns(ns, ["cat", "/proc/net/snmp"])).stdout.split("\n");
  const [names, values] = snmp.filter((l) => l.startsWith("Icmp:")).map((l) => l.trim().split(/\s+/));
  return Number(values?.[names?.indexOf("InDestUnreachs") ?? -1]);
}

/** UDP conntrack entries of `ns` from client port `sport` to `dst`, as `conntrack -L` lines. */
function udpFlows(ns: string, dst: string, sport: number): string[] {
  const r = mustRunSync(inNetns(ns, ["conntrack", "-L", "-p", "udp", "--orig-dst", dst]));
  return r.stdout.split("\n").filter((l) => l.includes(` sport=${sport} `));
}

const tableExists = (ns: string) =>
  runSync(inNetns(ns, ["nft", "list", "table", "ip", TABLE_NAME])).code === 0;

/** The elements of one of podnet's maps, normalized for comparison. */
function mapElements(ns: string, map: string): string[] {
  const out = mustRunSync(inNetns(ns, ["nft", "-j", "list", "map", "ip", TABLE_NAME, map])).stdout;
  const items = JSON.parse(out).nftables as { map?: { elem?: unknown[] } }[];
  return (items.find((i) => i.map)?.map?.elem ?? []).map((e) => JSON.stringify(e)).sort();
}

describe("service proxy in the node agent (real nftables, conntrack and packets)", () => {
  const cluster = useTestCluster(2);
  const agents = new Map<string, AgentProcess>();
  const pods = new Map<string, ClusterPod>();
  const services = new Map<string, Service>();
  let store: Store | undefined;
  const logs = () => [...agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a, 12)}`).join("\n");
  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} was not set up (beforeAll failed?)`);
    return value;
  };
  const pod = (name: string) => must(pods.get(name), `pod ${name}`);
  const clusterIP = (name: string) => must(services.get(name)?.clusterIPs[0], `Service ${name}`);
  const netns = (node: string) => cluster().node(node).netns;
  /** A counter never incremented is absent: `absent` says what that means for `sample`. */
  const metric = async (node: string, sample: string, absent = Number.NaN) =>
    metricValue(await cluster().metrics(node), sample) ?? absent;
  const fullSyncs = (node: string) => metric(node, 'podnet_proxy_syncs_total{kind="full"}');

  /** Probes until every web pod has answered; checks every reply came from `host`. */
  async function spread(ns: string, host: string, port: number, o: ProbeOptions = {}) {
    const seen: EchoProbe[] = [];
    await pollUntil(
      `both web pods to answer at ${host}:${port}`,
      async () => {
        seen.push(await reach(ns, host, port, o));
        return WEB.every((w) => seen.some((p) => p.reply.pod === w));
      },
      20_000,
      () => `replies: ${seen.map((p) => p.reply.pod).join(" ")}\n${logs()}`,
    );
    for (const p of seen) expect(p.replyFrom).toBe(host);
    for (const p of seen) expect(p.reply.ip).toBe(pod(p.reply.pod).ip);
    return seen;
  }

  beforeAll(async () => {
    const c = cluster();
    for (const n of NODES) agents.set(n, c.startAgent(n, { backend: "host-gw", resync: RESYNC }));
    await Promise.all([...agents.values()].map((a) => c.waitReady(a)));
    for (const [node, name, labels] of PODS) pods.set(name, await c.addPod(node, { name, labels }));
    store = await c.openStore();
    const config = await readClusterConfig(store);
    if (!config) throw new Error("the agents wrote no cluster config");
    for (const input of SERVICES) services.set(input.name, await createService(store, config, input));
    // The gauges are set after a sync is applied: both nodes have every Service and endpoint in.
    for (const n of NODES)
      await pollUntil(
        `${n} to program ${SERVICES.length} Services with ${ENDPOINTS} endpoints`,
        async () =>
          (await metric(n, "podnet_proxy_services")) === SERVICES.length &&
          (await metric(n, "podnet_proxy_endpoints")) === ENDPOINTS,
        15_000,
        logs,
      );
  });
  afterAll(() => store?.close());

  test.each([
    ["TCP", false, "node1"],
    ["UDP", true, "node2"],
  ] as const)(
    "ClusterIP %s: random over both backends, answered from the ClusterIP; pods keep their address, nodes are masqueraded",
    async (_proto, udp, node) => {
      const ip = clusterIP("web");
      const client = pod("client");
      for (const p of await spread(client.netns, ip, 80, { udp })) expect(p.reply.from).toBe(client.ip);
      const own = addressesIn(netns(node));
      for (const p of await spread(netns(node), ip, 80, { udp })) {
        expect(own).toContain(p.reply.from);
        // To its own pod the node leaves through the bridge, so masquerade gives the bridge address.
        if (pod(p.reply.pod).node === node) expect(p.reply.from).not.toBe(addressOf(cluster().node(node)));
      }
    },
  );

  test.each([
    ["TCP", 0],
    ["UDP", 1],
  ] as const)(
    "NodePort %s answers on each node's address from the other node, masqueraded by the receiving node",
    async (proto, index) => {
      const nodePort = must(services.get("web")?.ports[index]?.nodePort, `the ${proto} NodePort of web`);
      expect(nodePort).toBeGreaterThanOrEqual(30000);
      for (const to of NODES) {
        const from = to === "node1" ? "node2" : "node1";
        const target = addressOf(cluster().node(to));
        const receiver = addressesIn(netns(to));
        for (const p of await spread(netns(from), target, nodePort, { udp: proto === "UDP" }))
          expect(receiver).toContain(p.reply.from);
      }
    },
  );

  test("no endpoints or an undefined port: TCP is reset at once, UDP gets ICMP port unreachable", async () => {
    const client = pod("client");
    const cases = [
      ["no endpoints, from a pod", client.netns, clusterIP("empty"), 80],
      ["no endpoints, from a node", netns("node1"), clusterIP("empty"), 80],
      ["undefined port 81 of web", client.netns, clusterIP("web"), 81],
    ] as const;
    for (const [what, ns, ip, port] of cases) {
      const r = await echo(ns, ip, port, { timeoutMs: 5000 });
      console.log(`TCP ${what}: ${r.ok ? "connected!" : r.error} after ${r.ms} ms (timeout 5000)`);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toContain("ECONNREFUSED");
    }
    // The echo client's UDP socket is unconnected, so the kernel does not hand it the ICMP error;
    // the namespace's ICMP counters show it arrived.
    const before = icmpUnreachables(client.netns);
    const udp = await echo(client.netns, clusterIP("empty"), 80, { udp: true, timeoutMs: 1500 });
    expect(udp.ok).toBe(false);
    if (!udp.ok) expect(udp.error).toContain("no UDP answer");
    expect(icmpUnreachables(client.netns)).toBeGreaterThan(before);
  });

  test("hairpin: a pod reaching its own Service is answered by itself, masqueraded to the node", async () => {
    const solo = pod("solo");
    const node1 = addressesIn(netns("node1"));
    for (let i = 0; i < 3; i++) {
      const p = await reach(solo.netns, clusterIP("solo"), 80);
      expect(p.reply.pod).toBe("solo");
      expect(p.replyFrom).toBe(clusterIP("solo"));
      expect(node1).toContain(p.reply.from);
    }
  });

  test("ClientIP affinity: 10 connections of one client land on one backend", async () => {
    const client = pod("client");
    const ip = clusterIP("affine");
    const probes: EchoProbe[] = [];
    for (let i = 0; i < 10; i++) probes.push(await reach(client.netns, ip, 80));
    expect(new Set(probes.map((p) => p.reply.pod)).size).toBe(1);
    expect(WEB).toContain(probes[0]?.reply.pod as string);
    for (const p of probes) expect(p.replyFrom).toBe(ip);
  });

  test("UDP endpoint replaced: stale conntrack entries go, the same client port reaches the new pod", async () => {
    const c = cluster();
    const client = pod("client");
    const a = pod("dns-a");
    const ip = clusterIP("dns");
    const opts = { udp: true, localPort: UDP_CLIENT_PORT, timeoutMs: 1000 } as const;
    const first = await reach(client.netns, ip, 53, opts);
    expect([first.reply.pod, first.replyFrom, first.localPort]).toEqual(["dns-a", ip, UDP_CLIENT_PORT]);
    // The client's node DNATed the flow: its entry answers from dns-a.
    expect(udpFlows(netns("node2"), ip, UDP_CLIENT_PORT).join("\n")).toContain(`src=${a.ip} `);
    const stale = "podnet_proxy_stale_udp_entries_deleted_total";
    const staleBefore = await metric("node2", stale, 0);
    process.kill(first.reply.pid, "SIGTERM");
    await c.runtime("node1").del({ containerId: a.containerId, ifname: "eth0", netnsPath: a.netnsPath });
    // Without the deletion the entry would live on for nf_conntrack_udp_timeout (30 s).
    const gone = await pollUntil(
      "node2 to delete the conntrack entry towards dns-a",
      () => udpFlows(netns("node2"), ip, UDP_CLIENT_PORT).length === 0,
      5000,
      () => `${udpFlows(netns("node2"), ip, UDP_CLIENT_PORT).join("\n")}\n${logs()}`,
    );
    expect(await metric("node2", stale)).toBeGreaterThan(staleBefore);
    const b = await c.addPod("node1", { name: "dns-b", labels: { app: "dns" } });
    pods.set("dns-b", b);
    const { value: next, ms } = await pollUntil(
      "the same client port to reach dns-b",
      async () => {
        const r = await echo(client.netns, ip, 53, opts);
        if (r.ok && r.probe.reply.pod !== "dns-b") throw new Error(`answered by ${r.probe.reply.pod}`);
        return r.ok && r.probe;
      },
      5000,
      logs,
    );
    console.log(`stale entry deleted ${gone.ms} ms after DEL; dns-b answered ${ms} ms after its ADD`);
    expect([next.replyFrom, next.reply.ip, next.localPort]).toEqual([ip, b.ip, UDP_CLIENT_PORT]);
    const flows = udpFlows(netns("node2"), ip, UDP_CLIENT_PORT);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toContain(`src=${b.ip} `);
  });

  test("a deleted table is put back in full within a few resync periods and Services work again", async () => {
    const ns = netns("node1");
    const fullBefore = await fullSyncs("node1");
    const elements = mapElements(ns, NAMES.serviceIps);
    mustRunSync(inNetns(ns, ["nft", "delete", "table", "ip", TABLE_NAME]));
    expect(tableExists(ns)).toBe(false);
    const { ms } = await pollUntil(
      "node1's agent to restore its table",
      () => tableExists(ns),
      3 * RESYNC * 1000,
      logs,
    );
    console.log(`table restored ${ms} ms after it was deleted (resync ${RESYNC} s)`);
    expect(mapElements(ns, NAMES.serviceIps)).toEqual(elements);
    const p = await reach(ns, clusterIP("web"), 80);
    expect([p.replyFrom, WEB.includes(p.reply.pod)]).toEqual([clusterIP("web"), true]);
    expect(await fullSyncs("node1")).toBeGreaterThan(fullBefore);
  });

  test("a partial sync the kernel refuses is answered with a full sync", async () => {
    const doomed = clusterIP("doomed");
    const nftErrors = 'podnet_proxy_errors_total{kind="nft"}';
    const errorsBefore = await metric("node1", nftErrors);
    const [full1, full2] = [await fullSyncs("node1"), await fullSyncs("node2")];
    // The kernel loses an element the agent believes it has: deleting it again must fail.
    const element = `{ ${doomed} . tcp . 80 }`;
    mustRunSync(
      inNetns(netns("node1"), ["nft", "delete", "element", "ip", TABLE_NAME, NAMES.serviceIps, element]),
    );
    await deleteService(store as Store, "default", "doomed");
    const gone = (node: string) =>
      !mapElements(netns(node), NAMES.serviceIps).some((e) => e.includes(doomed));
    await pollUntil(
      "node1 to fail its partial sync and replace the table",
      async () => (await metric("node1", nftErrors)) > errorsBefore && (await fullSyncs("node1")) > full1,
      5000,
      logs,
    );
    await pollUntil("node2 to drop the Service", () => gone("node2"), 5000, logs);
    expect(gone("node1")).toBe(true);
    expect(await fullSyncs("node2")).toBe(full2);
    const [map1, map2] = NODES.map((n) => mapElements(netns(n), NAMES.serviceIps));
    expect(map1).toEqual(map2 as string[]);
    expect((await reach(netns("node1"), clusterIP("web"), 80)).replyFrom).toBe(clusterIP("web"));
  });

  test("a UDP flow that began before its Service existed is translated once the Service has endpoints", async () => {
    // A static-band address no dynamic allocation hands out; no Service holds it yet.
    const ip = "10.96.0.123";
    const port = UDP_CLIENT_PORT + 1;
    const client = pod("client");
    const early = await echo(client.netns, ip, 53, { udp: true, localPort: port, timeoutMs: 500 });
    expect(early.ok).toBe(false);
    // node2 routed the datagrams out untranslated and conntrack keeps that flow: every further
    // datagram of it would go the same way (kube-proxy clears such entries too).
    const stuck = udpFlows(netns("node2"), ip, port);
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toContain(`src=${ip} `);
    const s = must(store, "store");
    const config = await readClusterConfig(s);
    if (!config) throw new Error("no cluster config");
    await createService(s, config, service("late", "web", [{ ...udp, port: 53 }], { clusterIPs: [ip] }));
    try {
      const { value: p, ms } = await pollUntil(
        "the same client port to reach a web pod through the new Service",
        async () => {
          const r = await echo(client.netns, ip, 53, { udp: true, localPort: port, timeoutMs: 500 });
          return r.ok && r.probe;
        },
        5000,
        () => `${udpFlows(netns("node2"), ip, port).join("\n")}\n${logs()}`,
      );
      console.log(`the early UDP flow was answered ${ms} ms after the Service was created`);
      expect(p.replyFrom).toBe(ip);
      expect(WEB).toContain(p.reply.pod);
    } finally {
      await deleteService(s, "default", "late");
    }
  });

  test("egress: a pod reaching a host outside the cluster is seen from its node's address", async () => {
    // The underlay router is such a host: it has no route to pod addresses, so only a masqueraded
    // connection gets an answer.
    const c = cluster();
    const external = c.topology.segments.find((s) => s.name === "ext")?.gateway as string;
    const router = `${c.prefix}-router`;
    const server = Bun.spawn(
      inNetns(router, [PODNET, "lab", "echo-server", "--pod", "router", "--port", String(ECHO_PORT)]),
      { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    );
    try {
      const client = pod("client");
      const { value: p } = await pollUntil(
        "the router's echo server to answer the pod",
        async () => {
          const r = await echo(client.netns, external, ECHO_PORT, { timeoutMs: 1000 });
          return r.ok && r.probe;
        },
        10_000,
        logs,
      );
      const node2 = addressOf(c.node("node2"));
      expect([p.reply.pod, p.replyFrom, p.reply.from]).toEqual(["router", external, node2]);
    } finally {
      server.kill();
      await server.exited;
    }
  });
});

/**
 * The service proxy inside the node agent, on real packets: two host-gw nodes, pods labelled as
 * a runtime would label them, Services written to the datastore, and the agents' nftables and
 * conntrack doing the rest. Every claim is checked from both ends: the echo server says who it
 * is and whom it saw (NAT or not), the client says who answered (un-DNAT through conntrack).
 * ClusterIP, NodePort, no endpoints, hairpin, affinity and egress (proxy-cluster.ts sets it up).
 */
import { describe, expect, test } from "bun:test";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { EchoProbe } from "../../src/lab/echo-reply.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { PODNET } from "../../testkit/podnet-build.ts";
import { addressOf } from "./harness/cluster-node.ts";
import { ECHO_PORT } from "./harness/echo-pods.ts";
import { type IpLink, ipJsonIn } from "./harness/kernel-state.ts";
import { echo, NODES, reach, useProxyCluster, WEB } from "./harness/proxy-cluster.ts";

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

describe("service proxy in the node agent (real nftables, conntrack and packets)", () => {
  const { cluster, services, logs, must, pod, clusterIP, netns, spread } = useProxyCluster();

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
        { detail: logs },
      );
      const node2 = addressOf(c.node("node2"));
      expect([p.reply.pod, p.replyFrom, p.reply.from]).toEqual(["router", external, node2]);
    } finally {
      server.kill();
      await server.exited;
    }
  });
});

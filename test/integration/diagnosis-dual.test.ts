/**
 * `podnet lab explain` and `podnet lab trace` on a dual-stack lab (`lab up --ip-family dual`):
 * IPv6 addresses are explained from the `ip6 podnet` table and the IPv6 routes, and traced with
 * real IPv6 packets — directly between nodes of one segment, through the VXLAN device (over the
 * IPv4 underlay) to the node behind the router, DNATed by an IPv6 ClusterIP, masqueraded to the
 * node's IPv6 address on the way out — and drift in the IPv6 table is found on the right node.
 */
import { describe, expect, test } from "bun:test";
import { containsPrefix, formatPrefix, parsePrefix } from "../../src/ipnet/prefix.ts";
import { addressOf } from "../../src/lab/lab-families.ts";
import { nodeAddresses } from "../../src/lab/lab-state.ts";
import { runSync } from "../../src/linux/exec.ts";
import { PODNET } from "../../testkit/podnet-build.ts";
import { forwardHops, useLab } from "../support/lab-commands.ts";
import { mustLiveTableIn } from "./harness/proxy-table.ts";

// A long resync: the agents would repair the injected fault within seconds otherwise.
const lab = useLab("diagnosis-dual", ["--ip-family", "dual", "--resync-seconds", "600"]);
const { explain, trace } = lab;

function node(name: string) {
  const n = lab.state().nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in the lab`);
  return n;
}

function podIP6(name: string): string {
  const result = lab.state().pods.find((p) => p.name === name)?.result as
    | { ips?: { address: string }[] }
    | undefined;
  const ip = addressOf(
    (result?.ips ?? []).map((i) => i.address),
    6,
  );
  if (!ip) throw new Error(`pod ${name} has no IPv6 address`);
  return ip;
}

function nodeIP(name: string, f: 4 | 6): string {
  const ip = addressOf(nodeAddresses(node(name)), f);
  if (!ip) throw new Error(`node ${name} has no IPv${f} address`);
  return ip;
}

function inNode(name: string, ...argv: string[]): string {
  const r = runSync(["ip", "netns", "exec", node(name).netns, ...argv]);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} on ${name}: ${r.stderr.trim()}`);
  return r.stdout;
}

function echoService(): { clusterIPs: string[]; ports: { protocol: string; nodePort?: number }[] } {
  const r = runSync(
    [
      "ip",
      "netns",
      "exec",
      node("node1").netns,
      PODNET,
      "service",
      "show",
      "default/echo",
      "--datastore",
      lab.state().datastore,
      "--json",
    ],
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0) throw new Error(`service show default/echo: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function clusterIP6(): string {
  const ip = addressOf(echoService().clusterIPs, 6);
  if (!ip) throw new Error("default/echo has no IPv6 ClusterIP");
  return ip;
}

describe("explain in a dual-stack lab", () => {
  test("an IPv6 pod address: its pod, the IPv6 range and block, routed directly or through VXLAN over IPv4", () => {
    const e = explain(podIP6("node2-a"));
    expect(e.kinds).toContain("pod");
    expect(e.pod).toMatchObject({ name: "node2-a", node: "node2" });
    expect(e.provenance.range).toBe("fd00:10:244::/56");
    // The node's IPv6 block, compared by value (fd00:10:244::/64 is one of them too).
    const block = parsePrefix(e.provenance.block?.block ?? "");
    expect(block.length).toBe(64);
    expect(containsPrefix(parsePrefix("fd00:10:244::/56"), block)).toBe(true);
    expect(node("node2").podCidrs.map((c) => formatPrefix(parsePrefix(c)))).toContain(formatPrefix(block));
    const routes = Object.fromEntries(e.routes.map((r) => [r.node, r]));
    expect(routes.node1).toMatchObject({ how: "direct", via: nodeIP("node2", 6), ok: true });
    expect(routes.node3).toMatchObject({ how: "vxlan", underlay: nodeIP("node2", 4), ok: true });
    expect(e.checks.filter((c) => !c.ok)).toEqual([]);
    expect(e.drift.relevant).toEqual([]);
  });

  test("the IPv6 ClusterIP: rules in ip6 podnet on every node, DNAT to the IPv6 endpoints only", () => {
    const e = explain(`[${clusterIP6()}]:80`);
    expect(e.kinds).toContain("cluster-ip");
    expect(e.service?.service).toBe("default/echo");
    expect(e.service?.serviceCidr).toBe("fd00:10:96::/112");
    expect(e.service?.endpoints.length).toBe(6);
    for (const ep of e.service?.endpoints ?? []) expect(ep.ip).toContain(":");
    expect(e.checks.length).toBeGreaterThan(0);
    expect(e.checks.filter((c) => !c.ok)).toEqual([]);
  });

  test("the external host's IPv6 address: masqueraded to each node's IPv6 address", () => {
    const outside = explain(addressOf(lab.state().external.addresses ?? [], 6) as string);
    expect(outside.kinds).toContain("outside");
    expect(outside.egress?.find((d) => d.node === "node1")).toMatchObject({
      masquerade: true,
      as: nodeIP("node1", 6),
    });
  });
});

describe("trace with real IPv6 packets", () => {
  test("pod → IPv6 pod on a node of the same segment: routed directly via its IPv6 node IP", () => {
    const r = trace("node1-a", `[${podIP6("node2-a")}]:8080`);
    expect(r.verdict.status).toBe("agree");
    expect(r.observation?.sourceSeen?.ip).toBe(podIP6("node1-a"));
    const fib = forwardHops(r).find((h) => h.point === "fib" && h.node === "node1");
    expect(fib?.route?.via).toBe(nodeIP("node2", 6));
  });

  test("pod → IPv6 pod behind the router: through VXLAN with IPv4 outer addresses", () => {
    const r = trace("node1-a", `[${podIP6("node3-a")}]:8080`);
    expect(r.verdict.status).toBe("agree");
    expect(r.observation?.sourceSeen?.ip).toBe(podIP6("node1-a"));
    const overlay = forwardHops(r).find((h) => h.point === "to-overlay");
    expect(overlay?.vxlan).toMatchObject({ device: "podnet-vx", outerDst: nodeIP("node3", 4) });
    const node1 = r.observation?.nodes.find((n) => n.node === "node1");
    expect(node1?.vxlan.some((c) => c.name.startsWith("vxlan-out") && c.packets > 0)).toBe(true);
  });

  test("pod → IPv6 ClusterIP: DNATed to an IPv6 endpoint, which is the one that answered", () => {
    const r = trace("node1-a", `[${clusterIP6()}]:80`);
    expect(r.verdict.status).toBe("agree");
    expect(r.prediction.candidates.length).toBe(6);
    for (const c of r.prediction.candidates) expect(c.ip).toContain(":");
    expect(r.observation?.endpoint?.pod).toBe(`default/${r.probe?.echo?.pod}`);
    expect(forwardHops(r).some((h) => h.point === "service-dnat")).toBe(true);
  });

  test("pod → external host over IPv6: masqueraded to the node's IPv6 address, as the host saw it", () => {
    const ext = addressOf(lab.state().external.addresses ?? [], 6) as string;
    const r = trace("node1-a", `[${ext}]:8080`);
    expect(r.verdict.status).toBe("agree");
    expect(forwardHops(r).some((h) => h.point === "masquerade")).toBe(true);
    expect(r.probe?.echo?.from).toBe(nodeIP("node1", 6));
  });
});

describe("drift in the IPv6 table", () => {
  test("the IPv6 ClusterIP removed from node2's ip6 podnet cluster-ips: drift on node2, the IPv4 table untouched", () => {
    const ip = clusterIP6();
    // The ip6 table is live under podnet or podnet-b (a full sync swaps them); the long resync keeps it.
    const table = mustLiveTableIn(node("node2").netns, "ip6");
    inNode("node2", "nft", "delete", "element", "ip6", table, "cluster-ips", `{ ${ip} }`);
    try {
      const e = explain(`[${ip}]:80`);
      const found = e.drift.relevant.filter((d) => d.kind === "missing-service");
      expect(found.map((d) => d.node)).toEqual(["node2"]);
      const v4 = explain(addressOf(echoService().clusterIPs, 4) as string);
      expect(v4.drift.relevant.filter((d) => d.kind === "missing-service")).toEqual([]);
    } finally {
      inNode("node2", "nft", "add", "element", "ip6", table, "cluster-ips", `{ ${ip} }`);
    }
  });
});

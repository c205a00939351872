import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { ExplainQueryError, explainAddress, parseExplainQuery } from "./explain.ts";
import type { AddressKind } from "./explanation.ts";
import { DUAL_FACTS, DUAL_SNAPSHOT } from "./fixtures/lab-dual.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";
import { renderExplanation } from "./render-explain.ts";

function explain(
  text: string,
  facts: readonly NodeFacts[] = LAB_FACTS,
  missing: { node: string; reason: string }[] = [],
) {
  return explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery(text), LAB_NOW, missing);
}

/** The explanation of `text`, checked to be of exactly one `kind`. */
function explainAs(text: string, kind: AddressKind, facts: readonly NodeFacts[] = LAB_FACTS) {
  const e = explain(text, facts);
  expect(e.kinds).toEqual([kind]);
  return e;
}

function failed(e: ReturnType<typeof explain>) {
  return [...e.checks, ...e.routes].filter((c) => !c.ok).map((c) => `${c.node}: ${c.what}`);
}

/** The lab's facts with `node`'s changed by `edit`. */
function factsWith(node: string, edit: (f: NodeFacts) => NodeFacts): NodeFacts[] {
  return LAB_FACTS.map((f) => (f.node === node ? edit(f) : f));
}

type SetElements = NodeFacts["nft"]["sets"][number]["elements"];

/** The lab's facts with the elements of `node`'s nftables set `name` changed by `edit`. */
function setWith(node: string, name: string, edit: (elements: SetElements) => SetElements): NodeFacts[] {
  return factsWith(node, (f) => ({
    ...f,
    nft: {
      ...f.nft,
      sets: f.nft.sets.map((s) => (s.name === name ? { ...s, elements: edit(s.elements) } : s)),
    },
  }));
}

/** The lab's facts with each node's route lookups replaced by `byNode`'s (none for a node it leaves out). */
function lookupsWith(byNode: Record<string, NodeFacts["routeLookups"]>): NodeFacts[] {
  return LAB_FACTS.map((f) => ({ ...f, routeLookups: byNode[f.node] ?? [] }));
}

describe("parseExplainQuery", () => {
  test("addresses with and without ports, canonical", () => {
    expect(parseExplainQuery("10.244.1.2")).toEqual({ ip: "10.244.1.2" });
    expect(parseExplainQuery("192.0.2.11:30080")).toEqual({ ip: "192.0.2.11", port: 30080 });
    expect(parseExplainQuery("[2001:DB8::0:1]:80")).toEqual({ ip: "2001:db8::1", port: 80 });
    expect(parseExplainQuery("2001:db8::1")).toEqual({ ip: "2001:db8::1" });
  });
  test("anything else is refused, naming the text", () => {
    expect(() => parseExplainQuery("node1-a")).toThrow(ExplainQueryError);
    expect(() => parseExplainQuery("node1-a")).toThrow('Cannot explain "node1-a"');
    expect(() => parseExplainQuery("10.0.0.1:99999")).toThrow("99999");
    expect(() => parseExplainQuery("10.0.0.256")).toThrow(ExplainQueryError);
  });
});

describe("explainAddress: every address kind on the intact lab", () => {
  test("a pod address: pod, chain range → block → lease → allocation, routes of every node", () => {
    const e = explainAs("10.244.3.2", "pod");
    expect(e.schema).toBe("podnet.explain/v1");
    expect(e.pod).toMatchObject({
      namespace: "default",
      name: "node2-a",
      node: "node2",
      inDatastore: true,
      containerId: "lab-4uhc1z-node2-a",
      ifname: "eth0",
      mac: "0a:58:0a:f4:03:02",
      hostVeth: "pn13862e065120",
      bridge: "podnet0",
    });
    expect(e.provenance.range).toBe("10.244.0.0/16");
    expect(e.provenance.block).toMatchObject({ block: "10.244.3.0/24", node: "node2", leased: true });
    expect(e.provenance.block?.claimed?.ageSeconds).toBe(26);
    expect(e.provenance.allocation).toMatchObject({
      node: "node2",
      containerId: "lab-4uhc1z-node2-a",
      ifname: "eth0",
    });
    expect(e.routes.map((r) => [r.node, r.how, r.via ?? null, r.ok])).toEqual([
      ["node1", "direct", "192.0.2.12", true],
      ["node2", "local", null, true],
      ["node3", "vxlan", "10.244.3.0", true],
    ]);
    const vx = e.routes.find((r) => r.how === "vxlan");
    expect([vx?.vtepMac, vx?.underlay]).toEqual(["8a:10:1b:b1:03:59", "192.0.2.12"]);
    expect(e.endpointOf).toEqual([{ service: "default/echo", ports: ["tcp 80→8080", "udp 80→8080"] }]);
    expect(e.conntrack.total).toBe(3);
    expect(e.conntrack.perNode).toEqual({ node1: 1, node2: 1, node3: 1 });
    expect(failed(e)).toEqual([]);
    expect(e.drift).toEqual({ relevant: [], others: 0 });
  });

  test("a gateway", () => {
    const e = explainAs("10.244.3.1", "gateway");
    expect(e.gateway).toEqual({
      node: "node2",
      block: "10.244.3.0/24",
      device: "podnet0",
      mac: "7e:b4:8f:04:d4:f2",
    });
    expect(failed(e)).toEqual([]);
  });

  test("a VTEP address (also when it is the block's network address)", () => {
    const e = explainAs("10.244.8.0", "vtep");
    expect(e.vtep).toEqual({
      node: "node3",
      block: "10.244.8.0/24",
      device: "podnet-vx",
      mac: "62:f1:93:8f:e2:6a",
    });
    expect(e.checks.filter((c) => c.node === "node3").every((c) => c.ok)).toBe(true);
    expect(explain("10.244.0.0").vtep?.node).toBe("node1");
  });

  test("a node IP: announced and current", () => {
    const e = explainAs("192.0.2.12", "node-ip");
    expect(e.nodeIP).toEqual({
      node: "node2",
      backend: "auto",
      announced: ["192.0.2.12"],
      current: ["192.0.2.12/24", "fe80::b41a:41ff:fe9e:ea01/64"],
      uplink: "eth0",
      changed: false,
    });
  });

  test("a ClusterIP: Service, CIDR and band, endpoints, only rules, every node's maps", () => {
    const e = explainAs("10.102.49.235", "cluster-ip");
    expect(e.service).toMatchObject({
      service: "default/echo",
      serviceCidr: "10.96.0.0/12",
      band: "dynamic",
    });
    expect(e.service?.endpoints).toHaveLength(6);
    expect(e.provenance).toEqual({ range: "10.96.0.0/12", band: "dynamic" });
    const onlyRules = e.checks.filter((c) => c.what.includes("exists only as rules"));
    expect(onlyRules.map((c) => [c.node, c.ok])).toEqual([
      ["node1", true],
      ["node2", true],
      ["node3", true],
    ]);
    expect(e.checks.filter((c) => c.what.includes("DNATs to its 6 endpoint(s)"))).toHaveLength(6);
    expect(failed(e)).toEqual([]);
    expect(e.conntrack.total).toBe(1);
  });

  test("a ClusterIP without endpoints is rejected", () => {
    const e = explainAs("10.105.118.57", "cluster-ip");
    expect(e.summary).toContain("rejected");
    expect(failed(e)).toEqual([]);
  });

  test("a NodePort on a node IP", () => {
    const e = explain("192.0.2.11:32032");
    expect(e.kinds).toEqual(["node-ip", "node-port"]);
    expect(e.nodePort?.node).toBe("node1");
    expect(e.nodePort?.service).toBe("default/echo");
    expect(e.nodePort?.port.protocol).toBe("TCP");
    expect(e.nodePort?.endpoints).toHaveLength(6);
    expect(e.nodePort?.masquerade).toContain("masqueraded");
    expect(failed(e)).toEqual([]);
    expect(explain("192.0.2.11:31111").kinds).toEqual(["node-ip"]);
  });

  test("a free address in a block: who held it last, and the stale flow still naming it", () => {
    const e = explainAs("10.244.3.9", "free");
    expect(e.free).toEqual({
      block: "10.244.3.0/24",
      node: "node2",
      lastHolder: {
        namespace: "default",
        name: "old-x",
        containerId: "lab-4uhc1z-old-x",
        ifname: "eth0",
        released: { at: "2026-12-06T10:15:20.000Z", ageSeconds: 41 },
      },
    });
    expect(e.conntrack.total).toBe(1);
    expect(e.summary).toContain("1 stale conntrack flow still names it");
    expect(explain("10.244.3.77").free?.lastHolder).toBeUndefined();
  });

  test("inside the cluster range but in no block; inside the service CIDR but unallocated", () => {
    expect(explain("10.244.200.5").kinds).toEqual(["unleased"]);
    const s = explainAs("10.96.0.10", "service-range");
    expect(s.provenance).toEqual({ range: "10.96.0.0/12", band: "static" });
    expect(explain("10.100.0.9").provenance.band).toBe("dynamic");
  });

  test("outside every range: masqueraded to each node's IP, unless in no-masquerade", () => {
    const e = explainAs("203.0.113.100", "outside");
    expect(e.egress?.map((g) => [g.node, g.masquerade, g.as])).toEqual([
      ["node1", true, "192.0.2.11"],
      ["node2", true, "192.0.2.12"],
      ["node3", true, "198.51.100.13"],
    ]);
    const kept = setWith("node3", "no-masquerade", (elements) => [...elements, { key: ["203.0.113.0/24"] }]);
    const k = explain("203.0.113.100", kept);
    expect(k.egress?.find((g) => g.node === "node3")).toMatchObject({ masquerade: false });
    expect(k.egress?.find((g) => g.node === "node3")?.reason).toContain("203.0.113.0/24");
  });
});

describe("explainAddress with drift", () => {
  test("a deleted peer route fails that node's route check and is relevant drift", () => {
    const facts = factsWith("node1", (f) => ({
      ...f,
      routes: f.routes.filter((r) => r.dst !== "10.244.3.0/24"),
    }));
    const e = explain("10.244.3.2", facts);
    expect(failed(e)).toEqual(["node1: 10.244.3.0/24 via 192.0.2.12 (node2, same segment: direct)"]);
    expect(e.drift.relevant.map((d) => [d.node, d.kind])).toEqual([["node1", "missing-route"]]);
    // The same drift does not concern a pod in another block, but it is counted.
    expect(explain("10.244.8.3", facts).drift).toMatchObject({ relevant: [], others: 1 });
  });

  test("an endpoint missing from one node's map fails the endpoint check there", () => {
    const facts = setWith("node3", "service-endpoints-tcp", (elements) =>
      elements.filter((x) => x.value?.[0] !== "10.244.3.2"),
    );
    expect(failed(explain("10.244.3.2", facts))).toEqual([
      "node3: endpoint of default/echo (tcp 80→8080, udp 80→8080) in its proxy maps",
    ]);
    const c = explain("10.102.49.235", facts);
    expect(failed(c)).toEqual(["node3: 10.102.49.235:80/tcp DNATs to its 6 endpoint(s)"]);
    expect(c.drift.relevant.map((d) => [d.node, d.kind, d.subject])).toEqual([
      ["node3", "missing-endpoint", "10.244.3.2:8080"],
    ]);
  });

  test("a node that did not answer is named, and its drift shown", () => {
    const e = explain(
      "10.244.3.2",
      LAB_FACTS.filter((f) => f.node !== "node3"),
      [{ node: "node3", reason: "no answer within 2000 ms" }],
    );
    expect(e.missing).toEqual([{ node: "node3", reason: "no answer within 2000 ms" }]);
    expect(e.nodes).toEqual(["node1", "node2"]);
    expect(e.drift.relevant.map((d) => d.kind)).toEqual(["agent-not-answering"]);
  });

  test("each node's FIB decision for the address, from its route lookups", () => {
    const facts = lookupsWith({
      node1: [
        {
          query: { dst: "10.244.3.2" },
          route: { dst: "10.244.3.2/32", via: "192.0.2.12", dev: "eth0", onlink: false, type: "unicast" },
        },
        { query: { dst: "10.244.3.2", from: "10.244.0.2", iif: "podnet0" }, error: "ignored here" },
      ],
      node2: [{ query: { dst: "10.244.3.2" }, error: "Network is unreachable" }],
    });
    expect(explain("10.244.3.2", facts).fib).toEqual([
      { node: "node1", route: "10.244.3.2/32 via 192.0.2.12 dev eth0", command: "ip route get 10.244.3.2" },
      { node: "node2", error: "Network is unreachable", command: "ip route get 10.244.3.2" },
    ]);
    expect(explain("10.244.3.2").fib).toEqual([]);
  });

  test("the explanation is plain JSON", () => {
    for (const q of ["10.244.3.2", "10.102.49.235", "192.0.2.11:32032", "203.0.113.100", "10.244.3.9"]) {
      const e = explain(q);
      expect(JSON.parse(JSON.stringify(e))).toEqual(e);
    }
  });
});

describe("explainAddress: a ClusterIP's FIB", () => {
  test("no FIB decision is shown for a ClusterIP: it is DNATed before routing", () => {
    const unreachable = [{ query: { dst: "10.102.49.235" }, error: "Network is unreachable" }];
    const facts = lookupsWith({ node1: unreachable, node2: unreachable, node3: unreachable });
    const e = explain("10.102.49.235", facts);
    expect(e.fib).toEqual([]);
    expect(renderExplanation(e)).toContain(
      "fib       not used: a ClusterIP is DNATed to an endpoint before routing",
    );
  });
});

describe("explainAddress on a dual-stack cluster", () => {
  const explainDual = (text: string, facts: readonly NodeFacts[] = DUAL_FACTS) =>
    explainAddress(DUAL_SNAPSHOT, facts, parseExplainQuery(text), LAB_NOW, []);

  test("an IPv6 address outside: ip6 podnet masquerades pods to each node's IPv6 address", () => {
    const e = explainDual("2001:db8:3::100");
    expect(e.kinds).toEqual(["outside"]);
    expect(e.egress?.map((g) => [g.node, g.masquerade, g.as])).toEqual([
      ["node1", true, "2001:db8:1::11"],
      ["node2", true, "2001:db8:1::12"],
      ["node3", true, "2001:db8:2::13"],
    ]);
    expect(e.egress?.[0]?.reason).toContain("ip6 podnet");
  });

  test("ip6 podnet's no-masquerade set decides for IPv6, not ip podnet's", () => {
    const kept = DUAL_FACTS.map((f) =>
      f.node !== "node2"
        ? f
        : {
            ...f,
            nft: {
              ...f.nft,
              sets: f.nft.sets.map((s) =>
                s.name === "no-masquerade" && s.family === "ip6"
                  ? { ...s, elements: [...s.elements, { key: ["2001:db8:3::/64"] }] }
                  : s,
              ),
            },
          },
    );
    const e = explainDual("2001:db8:3::100", kept);
    expect(e.egress?.map((g) => [g.node, g.masquerade])).toEqual([
      ["node1", true],
      ["node2", false],
      ["node3", true],
    ]);
    expect(e.egress?.[1]?.reason).toContain("2001:db8:3::/64");
    // The IPv4 destination is still masqueraded on node2: its table was not touched.
    expect(explainDual("203.0.113.100", kept).egress?.[1]?.masquerade).toBe(true);
  });

  test("an older agent's untagged ip6 sets: masquerade is unknown (absent), not false", () => {
    const untag = <T extends { readonly family?: "ip6" }>({ family: _, ...rest }: T) => rest;
    const older = DUAL_FACTS.map((f) =>
      f.node === "node2"
        ? { ...f, nft: { ...f.nft, sets: f.nft.sets.map(untag), chains: f.nft.chains.map(untag) } }
        : f,
    );
    const e = explainDual("2001:db8:3::100", older);
    const node2 = e.egress?.find((g) => g.node === "node2");
    expect(node2 && "masquerade" in node2).toBe(false);
    expect(node2?.reason).toContain("unknown: the agent reports ip6 podnet mixed with ip podnet");
    expect(JSON.parse(JSON.stringify(e)).egress[1]).not.toHaveProperty("masquerade");
    expect(e.summary).toBe("outside every cluster range: masqueraded from node1, node3, unknown from node2");
    expect(renderExplanation(e)).toContain(
      "node2: masquerade unknown: unknown: the agent reports ip6 podnet",
    );
  });

  test("an IPv4-only node asked about an IPv6 address: it has no IPv6 block to send from", () => {
    const e = explain("2001:db8:3::100");
    expect(e.egress?.every((g) => !g.masquerade && g.reason.includes("no IPv6 block"))).toBe(true);
  });
});

import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { type Drift, type DriftKind, findDrift } from "./drift.ts";
import { explainAddress, parseExplainQuery } from "./explain.ts";
import { LAB_FACTS } from "./fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "./fixtures/lab-snapshot.ts";

/** The lab's facts with one node's changed by `patch`. */
function patched(node: string, patch: (f: NodeFacts) => NodeFacts): NodeFacts[] {
  return LAB_FACTS.map((f) => (f.node === node ? patch(f) : f));
}

function kinds(drift: readonly Drift[]): [string, DriftKind, string][] {
  return drift.map((d) => [d.node, d.kind, d.subject]);
}

function only(drift: readonly Drift[], kind: DriftKind): Drift {
  const found = drift.filter((d) => d.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as Drift;
}

/** Replaces the elements of one nft set/map of a node. */
function withSet(
  f: NodeFacts,
  name: string,
  change: (els: NodeFacts["nft"]["sets"][number]["elements"]) => NodeFacts["nft"]["sets"][number]["elements"],
): NodeFacts {
  return {
    ...f,
    nft: {
      ...f.nft,
      sets: f.nft.sets.map((s) => (s.name === name ? { ...s, elements: change(s.elements) } : s)),
    },
  };
}

describe("findDrift on the intact lab", () => {
  test("finds nothing", () => {
    expect(findDrift(LAB_SNAPSHOT, LAB_FACTS)).toEqual([]);
  });
});

describe("findDrift: peer routes, neighbours and fdb", () => {
  test("a peer route deleted is missing-route on that node", () => {
    const facts = patched("node1", (f) => ({
      ...f,
      routes: f.routes.filter((r) => r.dst !== "10.244.3.0/24"),
    }));
    const d = only(findDrift(LAB_SNAPSHOT, facts), "missing-route");
    expect([d.node, d.subject]).toEqual(["node1", "10.244.3.0/24"]);
    expect(d.problem).toContain("via 192.0.2.12");
    expect(d.command).toBe("ip route show 10.244.3.0/24");
  });

  test("a peer route via the wrong next hop is wrong-route", () => {
    const facts = patched("node3", (f) => ({
      ...f,
      routes: f.routes.map((r) => (r.dst === "10.244.0.0/24" ? { ...r, via: "10.244.3.0" } : r)),
    }));
    expect(kinds(findDrift(LAB_SNAPSHOT, facts))).toEqual([["node3", "wrong-route", "10.244.0.0/24"]]);
  });

  test("a podnet route for a block nobody holds is wrong-route", () => {
    const facts = patched("node2", (f) => ({
      ...f,
      routes: [
        ...f.routes,
        {
          dst: "10.244.9.0/24",
          via: "192.0.2.11",
          dev: "eth0",
          proto: "200",
          onlink: false,
          type: "unicast",
        },
      ],
    }));
    expect(kinds(findDrift(LAB_SNAPSHOT, facts))).toEqual([["node2", "wrong-route", "10.244.9.0/24"]]);
  });

  test("an fdb entry deleted is missing-fdb for the block it serves", () => {
    const facts = patched("node1", (f) => ({ ...f, fdb: [] }));
    const d = only(findDrift(LAB_SNAPSHOT, facts), "missing-fdb");
    expect([d.node, d.subject]).toEqual(["node1", "10.244.8.0/24"]);
    expect(d.problem).toContain("198.51.100.13");
    expect(d.command).toBe("bridge fdb show dev podnet-vx");
  });

  test("an fdb entry pointing elsewhere, and one for an unknown MAC, are stale-fdb", () => {
    const moved = patched("node3", (f) => ({
      ...f,
      fdb: f.fdb.map((x) => (x.dst === "192.0.2.12" ? { ...x, dst: "192.0.2.99" } : x)),
    }));
    expect(kinds(findDrift(LAB_SNAPSHOT, moved))).toEqual([["node3", "stale-fdb", "10.244.3.0/24"]]);
    const extra = patched("node1", (f) => ({
      ...f,
      fdb: [
        ...f.fdb,
        { dev: "podnet-vx", mac: "aa:bb:cc:dd:ee:ff", dst: "198.51.100.77", flags: ["self", "permanent"] },
      ],
    }));
    expect(kinds(findDrift(LAB_SNAPSHOT, extra))).toEqual([["node1", "stale-fdb", "aa:bb:cc:dd:ee:ff"]]);
  });

  test("a neighbour deleted is missing-neighbour; one with another MAC is stale-neighbour", () => {
    const gone = patched("node2", (f) => ({ ...f, neighbours: [] }));
    expect(kinds(findDrift(LAB_SNAPSHOT, gone))).toEqual([["node2", "missing-neighbour", "10.244.8.0/24"]]);
    const wrong = patched("node2", (f) => ({
      ...f,
      neighbours: f.neighbours.map((n) => ({ ...n, mac: "02:00:00:00:00:01" })),
    }));
    expect(kinds(findDrift(LAB_SNAPSHOT, wrong))).toEqual([["node2", "stale-neighbour", "10.244.8.0/24"]]);
  });
});

describe("findDrift: the Service proxy", () => {
  test("an endpoint missing from a node's map is missing-endpoint on that node", () => {
    const facts = patched("node3", (f) =>
      withSet(f, "service-endpoints-tcp", (els) => els.filter((e) => e.value?.[0] !== "10.244.3.2")),
    );
    const d = only(findDrift(LAB_SNAPSHOT, facts), "missing-endpoint");
    expect([d.node, d.subject]).toEqual(["node3", "10.244.3.2:8080"]);
    expect(d.problem).toContain("default/node2-a");
    expect(d.command).toBe("nft list map ip podnet service-endpoints-tcp");
  });

  test("an endpoint the Service no longer has is stale-endpoint", () => {
    const facts = patched("node1", (f) =>
      withSet(f, "service-endpoints-udp", (els) => [
        ...els,
        { key: ["10.102.49.235", "80", "6"], value: ["10.244.3.9", "8080"] },
      ]),
    );
    expect(kinds(findDrift(LAB_SNAPSHOT, facts))).toEqual([["node1", "stale-endpoint", "10.244.3.9:8080"]]);
  });

  test("a ClusterIP or service port the table lacks is missing-service", () => {
    const noPort = patched("node2", (f) =>
      withSet(f, "service-ips", (els) => els.filter((e) => e.key[1] !== "tcp")),
    );
    expect(kinds(findDrift(LAB_SNAPSHOT, noPort))).toEqual([
      ["node2", "missing-service", "10.102.49.235:80/tcp"],
    ]);
    const noIP = patched("node1", (f) =>
      withSet(f, "cluster-ips", (els) => els.filter((e) => e.key[0] !== "10.105.118.57")),
    );
    expect(kinds(findDrift(LAB_SNAPSHOT, noIP))).toEqual([["node1", "missing-service", "10.105.118.57"]]);
  });

  test("no proxy table at all is nft-table-missing, once", () => {
    const facts = patched("node2", (f) => ({ ...f, nft: { tables: [], sets: [], chains: [] } }));
    expect(kinds(findDrift(LAB_SNAPSHOT, facts))).toEqual([["node2", "nft-table-missing", "ip podnet"]]);
  });
});

describe("findDrift: addresses and allocations", () => {
  test("an allocation whose pod lost its address or veth is allocation-without-interface", () => {
    const noAddress = patched("node2", (f) => ({
      ...f,
      pods: f.pods.map((p) =>
        p.name === "node2-a" && p.inside ? { ...p, inside: { ...p.inside, addresses: [] } } : p,
      ),
    }));
    const d = only(findDrift(LAB_SNAPSHOT, noAddress), "allocation-without-interface");
    expect([d.node, d.subject]).toEqual(["node2", "10.244.3.2"]);
    const noVeth = patched("node1", (f) => ({
      ...f,
      interfaces: f.interfaces.filter((i) => i.alias !== "podnet:podnet-lab:lab-4uhc1z-node1-b:eth0"),
    }));
    expect(kinds(findDrift(LAB_SNAPSHOT, noVeth))).toEqual([
      ["node1", "allocation-without-interface", "10.244.0.3"],
    ]);
  });

  test("a pod interface without its allocation is interface-without-allocation (and its record has none)", () => {
    const facts = patched("node3", (f) => ({
      ...f,
      allocations: f.allocations.filter((a) => a.ip !== "10.244.8.3"),
    }));
    expect(kinds(findDrift(LAB_SNAPSHOT, facts))).toEqual([
      ["node3", "interface-without-allocation", "10.244.8.3"],
      ["node3", "pod-record-without-allocation", "10.244.8.3"],
    ]);
  });

  test("a pod record naming an address its node never allocated is pod-record-without-allocation", () => {
    const snapshot: ClusterSnapshot = {
      ...LAB_SNAPSHOT,
      pods: [
        ...LAB_SNAPSHOT.pods,
        {
          namespace: "default",
          name: "ghost",
          node: "node2",
          ips: ["10.244.3.50"],
          labels: { app: "other" },
        },
      ],
    };
    expect(kinds(findDrift(snapshot, LAB_FACTS))).toEqual([
      ["node2", "pod-record-without-allocation", "10.244.3.50"],
    ]);
  });
});

describe("findDrift: node settings and silent nodes", () => {
  test("ip_forward 0 is ip-forward-off on that node", () => {
    const facts = patched("node2", (f) => ({ ...f, sysctls: { ...f.sysctls, "net.ipv4.ip_forward": "0" } }));
    const d = only(findDrift(LAB_SNAPSHOT, facts), "ip-forward-off");
    expect(d.node).toBe("node2");
    expect(d.evidence).toBe("net.ipv4.ip_forward = 0");
  });

  test("strict rp_filter (all=1) is rp-filter-strict; loose (2) is not", () => {
    const strict = patched("node3", (f) => ({
      ...f,
      sysctls: { ...f.sysctls, "net.ipv4.conf.all.rp_filter": "1" },
    }));
    const d = only(findDrift(LAB_SNAPSHOT, strict), "rp-filter-strict");
    expect(d.node).toBe("node3");
    const loose = patched("node3", (f) => ({
      ...f,
      sysctls: { ...f.sysctls, "net.ipv4.conf.eth0.rp_filter": "2" },
    }));
    expect(findDrift(LAB_SNAPSHOT, loose)).toEqual([]);
  });

  test("a node whose uplink no longer holds its announced IP is node-ip-changed", () => {
    const facts = patched("node2", (f) => ({
      ...f,
      interfaces: f.interfaces.map((i) =>
        i.name === "eth0" ? { ...i, addresses: ["192.0.2.22/24", "fe80::b41a:41ff:fe9e:ea01/64"] } : i,
      ),
    }));
    const d = only(findDrift(LAB_SNAPSHOT, facts), "node-ip-changed");
    expect([d.node, d.subject]).toEqual(["node2", "192.0.2.12"]);
    expect(d.evidence).toContain("192.0.2.22/24");
  });

  test("a node that did not answer is agent-not-answering, never ignored", () => {
    const facts = LAB_FACTS.filter((f) => f.node !== "node3");
    const drift = findDrift(LAB_SNAPSHOT, facts, [{ node: "node3", reason: "no answer within 2000 ms" }]);
    expect(kinds(drift)).toEqual([["node3", "agent-not-answering", "node3"]]);
    expect(drift[0]?.evidence).toBe("no answer within 2000 ms");
  });
});

describe("findDrift: answers that came, steps that did not", () => {
  test("a node that reported its facts but missed a trace step is not agent-not-answering", () => {
    const drift = findDrift(LAB_SNAPSHOT, LAB_FACTS, [
      { node: "node3", reason: "armed, but reported no observation in time" },
      { node: "node1", reason: "the probe result never came" },
    ]);
    expect(drift).toEqual([]);
  });

  test("an uplink without any address is node-ip-changed, the same as explain says", () => {
    const facts = patched("node1", (f) => ({
      ...f,
      interfaces: f.interfaces.map((i) => (i.name === "eth0" ? { ...i, addresses: [] } : i)),
    }));
    const d = only(findDrift(LAB_SNAPSHOT, facts), "node-ip-changed");
    expect([d.node, d.subject]).toEqual(["node1", "192.0.2.11"]);
    expect(d.evidence).toContain("eth0 has no address");
    const e = explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery("192.0.2.11"), LAB_NOW);
    expect(e.nodeIP?.changed).toBe(true);
    expect(e.drift.relevant.map((x) => x.kind)).toContain("node-ip-changed");
  });

  test("interfaces that could not be read say nothing about node IPs", () => {
    const facts = patched("node1", (f) => ({
      ...f,
      interfaces: [],
      errors: ["interfaces: ip -j -d addr failed"],
    }));
    expect(findDrift(LAB_SNAPSHOT, facts).filter((d) => d.kind === "node-ip-changed")).toEqual([]);
  });
});

describe("findDrift: IPv6 forwarding", () => {
  test("net.ipv6.conf.all.forwarding 0 is drift only on a cluster with IPv6 pod addresses", () => {
    expect(findDrift(LAB_SNAPSHOT, LAB_FACTS)).toEqual([]); // the lab is IPv4: its 0 is fine
    const dual: ClusterSnapshot = {
      ...LAB_SNAPSHOT,
      config: {
        ...LAB_SNAPSHOT.config,
        clusterCidrs: [...LAB_SNAPSHOT.config.clusterCidrs, "fd00:10:244::/56"],
      },
    };
    const d = findDrift(dual, LAB_FACTS).filter((x) => x.kind === "ip-forward-off");
    expect(d.map((x) => x.node)).toEqual(["node1", "node2", "node3"]);
    expect(d[0]?.evidence).toBe("net.ipv6.conf.all.forwarding = 0");
  });

  test("net.ipv4.ip_forward 0 is no drift on a cluster without IPv4 pod addresses", () => {
    const v6only: ClusterSnapshot = {
      ...LAB_SNAPSHOT,
      config: { ...LAB_SNAPSHOT.config, clusterCidrs: ["fd00:10:244::/56"] },
    };
    const facts = LAB_FACTS.map((f) => ({
      ...f,
      sysctls: { ...f.sysctls, "net.ipv4.ip_forward": "0", "net.ipv6.conf.all.forwarding": "1" },
    }));
    expect(findDrift(v6only, facts).filter((x) => x.kind === "ip-forward-off")).toEqual([]);
    expect(findDrift(LAB_SNAPSHOT, facts).filter((x) => x.kind === "ip-forward-off")).toHaveLength(3);
  });
});

describe("findDrift: NodePorts", () => {
  test("a NodePort endpoint missing from a node's map is missing-endpoint, subject the node's NODEIP:PORT/proto", () => {
    const facts = patched("node2", (f) =>
      withSet(f, "nodeport-endpoints-tcp", (els) => els.filter((e) => e.key[1] !== "0")),
    );
    const d = only(findDrift(LAB_SNAPSHOT, facts), "missing-endpoint");
    expect([d.node, d.subject]).toEqual(["node2", "192.0.2.12:32032/tcp"]);
    expect(d.command).toBe("nft list map ip podnet nodeport-endpoints-tcp");
    const e = explainAddress(LAB_SNAPSHOT, facts, parseExplainQuery("192.0.2.12:32032"), LAB_NOW);
    expect(e.drift.relevant.map((x) => x.kind)).toContain("missing-endpoint");
  });

  test("a NodePort the service-nodeports map lacks is missing-service", () => {
    const facts = patched("node1", (f) =>
      withSet(f, "service-nodeports", (els) => els.filter((e) => e.key[1] !== "32032")),
    );
    const d = only(findDrift(LAB_SNAPSHOT, facts), "missing-service");
    expect([d.node, d.subject]).toEqual(["node1", "192.0.2.11:32032/tcp"]);
  });
});

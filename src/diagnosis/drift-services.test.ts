import { describe, expect, test } from "bun:test";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { proxyTableName } from "../linux/nft-table-family.ts";
import { nftSet, reportsProxyTable, serviceDrift } from "./drift-services.ts";
import { DUAL_ECHO_IP6, DUAL_FACTS, DUAL_SNAPSHOT } from "./fixtures/lab-dual.ts";
import { LAB_ECHO } from "./fixtures/lab-snapshot.ts";

type Elements = NodeFacts["nft"]["sets"][number]["elements"];

const ECHO_IP4 = LAB_ECHO.clusterIPs[0] ?? "";

function node(name: string): NodeFacts {
  const f = DUAL_FACTS.find((x) => x.node === name);
  if (f === undefined) throw new Error(`no fixture node ${name}`);
  return f;
}

/** `facts` with the elements of set `name` of one table (4: `ip podnet`, 6: `ip6 podnet`) changed by `edit`. */
function withSet(facts: NodeFacts, name: string, family: 4 | 6, edit: (e: Elements) => Elements): NodeFacts {
  return {
    ...facts,
    nft: {
      ...facts.nft,
      sets: facts.nft.sets.map((s) =>
        s.name === name && (s.family === "ip6") === (family === 6) ? { ...s, elements: edit(s.elements) } : s,
      ),
    },
  };
}

describe("serviceDrift on a dual-stack node", () => {
  test("an intact node has none: each ClusterIP is found in the table of its family", () => {
    for (const f of DUAL_FACTS) expect(serviceDrift(DUAL_SNAPSHOT, f)).toEqual([]);
  });

  test("the IPv6 ClusterIP missing from ip6 podnet's service-ips is drift, though ip podnet has the IPv4 one", () => {
    const broken = withSet(node("node2"), "service-ips", 6, (e) => e.filter((x) => x.key[1] !== "tcp"));
    // Both tables hold a set named service-ips; the IPv4 one still has its tcp entry.
    expect(nftSet(broken, "service-ips", 4)?.elements.some((x) => x.key[1] === "tcp")).toBe(true);
    const drift = serviceDrift(DUAL_SNAPSHOT, broken);
    expect(drift.map((d) => [d.kind, d.subject])).toEqual([["missing-service", `[${DUAL_ECHO_IP6}]:80/tcp`]]);
    expect(drift[0]?.command).toBe("nft list map ip6 podnet service-ips");
    expect(drift[0]?.evidence).toContain("of ip6 podnet");
  });

  test("an endpoint missing from, or stale in, the IPv6 map is named with its pod", () => {
    const missing = withSet(node("node1"), "service-endpoints-udp", 6, (e) =>
      e.filter((x) => x.value?.[0] !== "fd00:10:244:8::3"),
    );
    const d = serviceDrift(DUAL_SNAPSHOT, missing);
    expect(d.map((x) => [x.kind, x.subject])).toEqual([["missing-endpoint", "[fd00:10:244:8::3]:8080"]]);
    expect(d[0]?.problem).toContain("default/node3-b");
    expect(d[0]?.command).toBe("nft list map ip6 podnet service-endpoints-udp");

    const stale = withSet(node("node1"), "service-endpoints-tcp", 6, (e) => [
      ...e,
      { key: [DUAL_ECHO_IP6, "80", "6"], value: ["fd00:10:244:3::9", "8080"] },
    ]);
    const s = serviceDrift(DUAL_SNAPSHOT, stale);
    expect(s.map((x) => [x.kind, x.subject])).toEqual([["stale-endpoint", "[fd00:10:244:3::9]:8080"]]);
    expect(s[0]?.evidence).toBe(
      `map service-endpoints-tcp has ${DUAL_ECHO_IP6} . 80 . N : fd00:10:244:3::9 . 8080`,
    );
  });

  test("an IPv6 ClusterIP of no Service left in the map: its problem brackets the address", () => {
    const left = withSet(node("node1"), "service-endpoints-tcp", 6, (e) => [
      ...e,
      { key: ["fd00:10:96::77", "80", "0"], value: ["fd00:10:244:3::9", "8080"] },
    ]);
    const d = serviceDrift(DUAL_SNAPSHOT, left);
    expect(d.map((x) => [x.kind, x.subject])).toEqual([["stale-endpoint", "[fd00:10:244:3::9]:8080"]]);
    expect(d[0]?.problem).toBe("its proxy still maps [fd00:10:96::77]:80/tcp, the ClusterIP of no Service");
  });

  test("an IPv4 ClusterIP put into the IPv6 table's maps does not count for the IPv4 table", () => {
    const moved = withSet(
      withSet(node("node3"), "cluster-ips", 4, (e) => e.filter((x) => x.key[0] !== ECHO_IP4)),
      "cluster-ips",
      6,
      (e) => [...e, { key: [ECHO_IP4] }],
    );
    expect(serviceDrift(DUAL_SNAPSHOT, moved).map((x) => [x.kind, x.subject, x.command])).toEqual([
      ["missing-service", ECHO_IP4, "nft list set ip podnet cluster-ips"],
    ]);
  });

  test("an IPv6 NodePort map lacking an endpoint: the subject is the node's IPv6 address, bracketed", () => {
    const broken = withSet(node("node1"), "nodeport-endpoints-tcp", 6, (e) => e.slice(1));
    const d = serviceDrift(DUAL_SNAPSHOT, broken);
    expect(d.map((x) => [x.kind, x.subject])).toEqual([["missing-endpoint", "[2001:db8:1::11]:32032/tcp"]]);
    expect(d[0]?.command).toBe("nft list map ip6 podnet nodeport-endpoints-tcp");
  });

  test("a node with an IPv6 block but no ip6 podnet: that table is missing, the IPv4 one still checked", () => {
    const f = node("node2");
    const noV6: NodeFacts = {
      ...f,
      nft: {
        tables: ["ip podnet"],
        sets: f.nft.sets.filter((s) => s.family === undefined),
        chains: f.nft.chains.filter((c) => c.family === undefined),
      },
    };
    const d = serviceDrift(DUAL_SNAPSHOT, noV6);
    expect(d.map((x) => [x.kind, x.subject])).toEqual([["nft-table-missing", proxyTableName(6)]]);
    expect(d[0]?.problem).toContain("IPv6");
  });

  test("an older agent's answer (ip6 sets untagged, mixed in) is not read as IPv6 drift", () => {
    const f = node("node2");
    const untagged: NodeFacts = {
      ...f,
      nft: {
        ...f.nft,
        sets: f.nft.sets.map(({ family: _, ...s }) => s),
        chains: f.nft.chains.map(({ family: _, ...c }) => c),
      },
    };
    expect(reportsProxyTable(untagged, 6)).toBe(false);
    expect(reportsProxyTable(untagged, 4)).toBe(true);
    expect(serviceDrift(DUAL_SNAPSHOT, untagged)).toEqual([]);
  });
});

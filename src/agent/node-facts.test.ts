import { describe, expect, test } from "bun:test";
import {
  establishedNodeSessionFact,
  establishedSession,
  IPV4_ROUTES,
} from "../../test/support/bgp-session-fixtures.ts";
import { useTempNodeState } from "../../test/support/temp-node-state.ts";
import type { DiagnosisRequest } from "../cluster/diagnosis-protocol.ts";
import { buildRangeSets } from "../ipam/range-set.ts";
import type { InterfaceFact, RouteFact } from "../linux/kernel-facts.ts";
import { hostVethAlias } from "../node-state/node-state.ts";
import { type BgpStatus, EMPTY_BGP_STATUS } from "./bgp-status.ts";
import { gatherNodeFacts, type KernelReaders } from "./node-facts.ts";
import { forwardingSysctlKeys } from "./node-sysctls.ts";

const t = useTempNodeState("podnet-node-facts");
const NETWORK = "podnet";
const key = { network: NETWORK, containerId: "c1", ifname: "eth0" };

const request: DiagnosisRequest = {
  id: "abcd1234",
  kind: "facts",
  createdAt: "2026-12-06T10:00:00.000Z",
  requester: "test",
  nodes: [],
  addresses: ["10.244.1.2"],
  routeLookups: [{ dst: "10.244.2.2" }],
};

const link = (name: string, extra: Partial<InterfaceFact> = {}): InterfaceFact => ({
  name,
  index: 1,
  kind: "",
  mac: "02:00:00:00:00:01",
  mtu: 1500,
  up: true,
  addresses: [],
  ...extra,
});
const route: RouteFact = {
  dst: "10.244.2.0/24",
  via: "192.0.2.12",
  dev: "eth0",
  onlink: false,
  type: "unicast",
};

function readers(overrides: Partial<KernelReaders> = {}): KernelReaders & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    readInterfaces: async (o) => {
      calls.push(`links ${o?.netnsPath ?? "node"} ${o?.dev ?? ""}`.trim());
      if (o?.netnsPath !== undefined) return [link("eth0", { addresses: ["10.244.1.2/24"] })];
      return [
        link("eth0", { addresses: ["192.0.2.11/24"] }),
        link("podnet0", { kind: "bridge", addresses: ["10.244.1.1/24"] }),
        link("podnet-vx", { kind: "vxlan" }),
        link("vethabc", { kind: "veth", master: "podnet0", alias: hostVethAlias(key) }),
      ];
    },
    readRoutes: async (o) => (o?.netnsPath !== undefined ? [{ ...route, dst: "default" }] : [route]),
    lookupRoute: async (q) => ({ route: { ...route, dst: q.dst } }),
    readNeighbours: async () => [],
    readFdb: async (dev) => [{ dev, mac: "02:00:00:00:00:02", dst: "198.51.100.13", flags: ["self"] }],
    listConntrack: async (f) => {
      calls.push(`conntrack ${f.addresses.join(",")} ${f.limit}`);
      return { entries: [], errors: [] };
    },
    readProxyTable: async (family) => ({
      tables: [`${family} podnet`],
      liveTables: [`${family} podnet`],
      sets: [],
      chains: [],
    }),
    readSysctl: (k) => (k.includes("bridge") ? undefined : "1"),
    ...overrides,
  };
}

const ctx = (r: KernelReaders, blocks = ["10.244.1.0/24"]) => ({
  nodeName: "node1",
  backend: "auto",
  uplink: "eth0",
  stateDir: t.dir,
  cniNetwork: NETWORK,
  nodeIPs: () => ["192.0.2.11"],
  blocks: () => blocks,
  readers: r,
  now: () => new Date("2026-12-06T10:00:01.000Z"),
});

describe("gatherNodeFacts", () => {
  test("reports the kernel, the pod rows checked inside their namespace, allocations and releases", async () => {
    const state = t.open();
    const sets = buildRangeSets([[{ subnet: "10.244.1.0/24" }]]);
    state.allocate(key, sets, [], {
      namespace: "default",
      name: "node1-a",
      labels: {},
      netns: "/run/netns/pod-a",
    });
    state.allocate({ ...key, containerId: "gone" }, sets, [], {
      namespace: "default",
      name: "old",
      labels: {},
    });
    state.release({ ...key, containerId: "gone" });
    const r = readers();
    const facts = await gatherNodeFacts(ctx(r), request);
    expect(facts.errors).toEqual([]);
    expect(facts.node).toBe("node1");
    expect(facts.collectedAt).toBe("2026-12-06T10:00:01.000Z");
    expect(facts.agent).toEqual({
      backend: "auto",
      uplink: "eth0",
      nodeIPs: ["192.0.2.11"],
      blocks: ["10.244.1.0/24"],
    });
    expect(facts.routes).toEqual([route]);
    expect(facts.fdb).toHaveLength(1);
    expect(facts.nft.tables).toEqual(["ip podnet"]);
    expect(facts.routeLookups).toEqual([
      { query: { dst: "10.244.2.2" }, route: { ...route, dst: "10.244.2.2" } },
    ]);
    expect(r.calls).toContain("conntrack 10.244.1.2 256");
    expect(Object.keys(facts.sysctls).sort()).toEqual(
      forwardingSysctlKeys("eth0", "podnet0")
        .filter((k) => !k.includes("bridge"))
        .sort(),
    );
    expect(facts.pods).toHaveLength(1);
    const pod = facts.pods[0];
    expect(pod).toMatchObject({
      namespace: "default",
      name: "node1-a",
      netns: "/run/netns/pod-a",
      ips: ["10.244.1.2"],
      hostVeth: "vethabc",
      inside: {
        mac: "02:00:00:00:00:01",
        addresses: ["10.244.1.2/24"],
        routes: [{ ...route, dst: "default" }],
      },
    });
    expect(r.calls).toContain("links /run/netns/pod-a eth0");
    expect(facts.allocations.map((a) => [a.ip, a.containerId])).toEqual([["10.244.1.2", "c1"]]);
    expect(facts.allocations[0]?.allocatedAt).toMatch(/^\d{4}-/);
    expect(facts.releases.map((x) => [x.ip, x.name])).toEqual([["10.244.1.3", "old"]]);
  });

  test("a node with an IPv6 block reports both live proxy tables, the ip6 sets and chains tagged", async () => {
    const set = (name: string, key: string) => ({ name, elements: [{ key: [key] }] });
    // IPv4 live under podnet-b beside a half-built podnet; IPv6 live under podnet.
    const tables = ["ip podnet", "ip podnet-b", "ip6 podnet"];
    const r = readers({
      readProxyTable: async (family) =>
        family === "ip"
          ? {
              tables,
              liveTables: ["ip podnet-b"],
              sets: [set("cluster-ips", "10.96.0.10")],
              chains: [{ name: "services", rules: ["ip"] }],
            }
          : {
              tables,
              liveTables: ["ip6 podnet"],
              sets: [set("cluster-ips", "fd00:10:96::a")],
              chains: [{ name: "services", rules: ["ip6"] }],
            },
    });
    const facts = await gatherNodeFacts(ctx(r, ["10.244.1.0/24", "fd00:10:244:1::/64"]), request);
    expect(facts.nft.tables).toEqual(tables);
    expect(facts.nft.liveTables).toEqual(["ip podnet-b", "ip6 podnet"]);
    expect(facts.nft.sets).toEqual([
      set("cluster-ips", "10.96.0.10"),
      { ...set("cluster-ips", "fd00:10:96::a"), family: "ip6" },
    ]);
    expect(facts.nft.chains).toEqual([
      { name: "services", rules: ["ip"] },
      { name: "services", rules: ["ip6"], family: "ip6" },
    ]);
  });

  test("a node without an IPv6 block reads only the IPv4 proxy table", async () => {
    const families: string[] = [];
    const r = readers({
      readProxyTable: async (family) => {
        families.push(family);
        return { tables: [`${family} podnet`], liveTables: [`${family} podnet`], sets: [], chains: [] };
      },
    });
    await gatherNodeFacts(ctx(r), request);
    expect(families).toEqual(["ip"]);
  });

  test("a part that fails is named in errors and the rest is still answered", async () => {
    const state = t.open();
    state.allocate(key, buildRangeSets([[{ subnet: "10.244.1.0/24" }]]), [], {
      namespace: "default",
      name: "node1-a",
      labels: {},
      netns: "/run/netns/gone",
    });
    const r = readers({
      listConntrack: async () => {
        throw new Error("conntrack v1.4.7: Operation not permitted");
      },
      readProxyTable: async () => {
        throw new Error("No such file or directory");
      },
      readInterfaces: async (o) => {
        if (o?.netnsPath !== undefined) throw new Error(`Cannot open network namespace "${o.netnsPath}"`);
        return [link("eth0")];
      },
      lookupRoute: async () => ({ error: "Network is unreachable" }),
    });
    const facts = await gatherNodeFacts(ctx(r, ["10.244.1.0/24", "fd00:244:1::/64"]), request);
    expect(facts.errors).toEqual([
      "nft ip proxy table: No such file or directory",
      "nft ip6 proxy table: No such file or directory",
      "conntrack: conntrack v1.4.7: Operation not permitted",
    ]);
    expect(facts.routes).toEqual([route]);
    expect(facts.fdb).toEqual([]); // no podnet-vx on this node
    expect(facts.routeLookups).toEqual([{ query: { dst: "10.244.2.2" }, error: "Network is unreachable" }]);
    expect(facts.pods[0]?.insideError).toContain("/run/netns/gone");
    expect(facts.pods[0]?.inside).toBeUndefined();
  });

  test("a pod row without a namespace path says so; an unreadable state is an error, not a throw", async () => {
    t.open().allocate(key, buildRangeSets([[{ subnet: "10.244.1.0/24" }]]), [], {
      namespace: "default",
      name: "older",
      labels: {},
    });
    const facts = await gatherNodeFacts(ctx(readers()), { ...request, addresses: [] });
    expect(facts.pods[0]?.insideError).toContain("names no network namespace");
    const broken = await gatherNodeFacts({ ...ctx(readers()), stateDir: "relative/dir" }, request);
    expect(broken.errors[0]).toMatch(/^node state: .*not an absolute path/);
    expect(broken.pods).toEqual([]);
  });
});

describe("gatherNodeFacts: the BGP speaker", () => {
  const status: BgpStatus = {
    ...EMPTY_BGP_STATUS,
    enabled: true,
    running: true,
    routerId: "192.0.2.11",
    announced: ["10.244.1.0/24"],
    sessions: [
      establishedSession({
        state: "start",
        bgpState: "Active",
        established: false,
        since: undefined,
        establishedSeconds: undefined,
        lastError: "Socket: Connection refused",
        routes: [{ ...IPV4_ROUTES, state: "DOWN", imported: 0, exported: 0, preferred: 0 }],
      }),
    ],
  };

  test("reports the status, in the record's shape, with the protocol and the control socket", async () => {
    const facts = await gatherNodeFacts(
      { ...ctx(readers()), bgp: () => status, bgpStateDir: "/var/lib/podnet/bgp" },
      { ...request, addresses: [] },
    );
    expect(facts.bgp).toEqual({
      enabled: true,
      running: true,
      routerId: "192.0.2.11",
      announced: ["10.244.1.0/24"],
      sessions: [
        establishedNodeSessionFact({
          state: "Active",
          since: undefined,
          received: 0,
          advertised: 0,
          lastError: "Socket: Connection refused",
        }),
      ],
      controlSocket: "/var/lib/podnet/bgp/bird.ctl",
    });
  });

  test("an agent without a speaker reports no BGP part", async () => {
    const facts = await gatherNodeFacts(
      { ...ctx(readers()), bgp: () => undefined },
      { ...request, addresses: [] },
    );
    expect(facts.bgp).toBeUndefined();
  });
});

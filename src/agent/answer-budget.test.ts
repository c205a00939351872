import { describe, expect, test } from "bun:test";
import type { NodeFacts, NodeObservation, TraceEvent } from "../cluster/diagnosis-protocol.ts";
import { MAX_ANSWER_BYTES } from "../cluster/diagnosis-protocol.ts";
import { fitFacts, fitObservation, requestFamilies, serializedBytes } from "./answer-budget.ts";

const RAW =
  'trace id 9a9251a9 inet podnet-trace-abcdefgh trace-pre packet: iif "podnet0" ip saddr 10.244.1.2 ip daddr 10.96.0.10 ip dscp cs0 ip ecn not-ect ip ttl 64 ip id 5841 ip protocol tcp ip length 60 tcp sport 53316 tcp dport 80 tcp flags == syn tcp window 64240';

function event(i: number): TraceEvent {
  return {
    atMs: i,
    traceId: (0x9a9251a9 + i).toString(16),
    family: "inet",
    table: "podnet-trace-abcdefgh",
    chain: "trace-pre",
    type: "packet",
    iif: "podnet0",
    saddr: "10.244.1.2",
    daddr: "10.96.0.10",
    sport: 53316,
    dport: 80,
    l4proto: "tcp",
    raw: RAW,
  };
}

const observation = (events: number): NodeObservation => ({
  node: "node1",
  events: Array.from({ length: events }, (_, i) => event(i)),
  conntrack: [],
  counters: [{ chain: "observe-post", name: "observe-post", packets: 1, bytes: 60 }],
  sysctls: { "net.ipv4.ip_forward": "1" },
  errors: [],
});

describe("fitObservation", () => {
  test("an observation under the budget is unchanged", () => {
    const small = observation(10);
    expect(fitObservation(small)).toBe(small);
  });

  test("a capped flood stays under the budget, keeps its first events and names the cut", () => {
    const flood = observation(20_000);
    expect(serializedBytes(flood)).toBeGreaterThan(MAX_ANSWER_BYTES * 4);
    const fitted = fitObservation(flood);
    expect(serializedBytes(fitted)).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
    expect(fitted.events.length).toBeGreaterThan(100);
    expect(fitted.events[0]).toEqual(flood.events[0] as TraceEvent);
    expect(fitted.counters).toEqual(flood.counters);
    expect(fitted.errors).toEqual([
      `observation: trace events cut to the first ${fitted.events.length} of 20000 (answer size limit ${MAX_ANSWER_BYTES} bytes)`,
    ]);
  });
});

describe("fitFacts", () => {
  test("a node with a huge proxy table answers within the budget, the cut chains and sets named", () => {
    const rules = Array.from(
      { length: 40 },
      (_, i) => `ip daddr 10.96.${i >> 8}.${i & 255} tcp dport 80 jump svc-${i}`,
    );
    const facts: NodeFacts = {
      node: "node1",
      collectedAt: "2026-12-06T10:00:00.000Z",
      agent: { backend: "auto", uplink: "eth0", nodeIPs: ["192.0.2.11"], blocks: ["10.244.1.0/24"] },
      interfaces: [],
      routes: [],
      neighbours: [],
      fdb: [],
      sysctls: {},
      nft: {
        tables: ["ip podnet"],
        sets: Array.from({ length: 3000 }, (_, i) => ({
          name: `svc-${i}`,
          elements: Array.from({ length: 20 }, (_, j) => ({
            key: [`10.96.${i >> 8}.${i & 255}`, "80", String(j)],
            value: [`10.244.1.${j}`, "8080"],
          })),
        })),
        chains: Array.from({ length: 3000 }, (_, i) => ({ name: `svc-${i}`, rules })),
      },
      pods: [],
      allocations: [],
      releases: [],
      conntrack: [],
      routeLookups: [],
      errors: ["routes: example"],
    };
    expect(serializedBytes(facts)).toBeGreaterThan(MAX_ANSWER_BYTES);
    const fitted = fitFacts(facts);
    expect(serializedBytes(fitted)).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
    expect(fitted.errors[0]).toBe("routes: example");
    expect(fitted.errors.slice(1).join("\n")).toMatch(
      /^facts: nft chains of ip podnet cut to the first \d+ of 3000/,
    );
  });

  test("a dual-stack node cuts the table of the family the request is not about first", () => {
    const chains = (family: 4 | 6, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        name: `svc-${i}`,
        rules: Array.from({ length: 40 }, (_, j) =>
          family === 4 ? `ip daddr 10.96.0.${j} jump svc-${i}` : `ip6 daddr fd00:10:96::${j} jump svc-${i}`,
        ),
        ...(family === 6 ? { family: "ip6" as const } : {}),
      }));
    const facts = (v4: number, v6: number): NodeFacts => ({
      node: "node1",
      collectedAt: "2026-12-06T10:00:00.000Z",
      agent: {
        backend: "auto",
        uplink: "eth0",
        nodeIPs: ["192.0.2.11", "2001:db8:1::11"],
        blocks: ["10.244.1.0/24", "fd00:10:244:1::/64"],
      },
      interfaces: [],
      routes: [],
      neighbours: [],
      fdb: [],
      sysctls: {},
      // The IPv4 table live under podnet-b, a half-built podnet beside it.
      nft: {
        tables: ["ip podnet", "ip podnet-b", "ip6 podnet"],
        liveTables: ["ip podnet-b", "ip6 podnet"],
        sets: [],
        chains: [...chains(4, v4), ...chains(6, v6)],
      },
      pods: [],
      allocations: [],
      releases: [],
      conntrack: [],
      routeLookups: [],
      errors: [],
    });
    const aboutV6 = fitFacts(facts(3000, 10), MAX_ANSWER_BYTES, [6]);
    expect(serializedBytes(aboutV6)).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
    expect(aboutV6.nft.chains.filter((c) => c.family === "ip6")).toHaveLength(10);
    expect(aboutV6.errors).toHaveLength(1);
    expect(aboutV6.errors[0]).toMatch(/^facts: nft chains of ip podnet-b cut to the first \d+ of 3000/);

    const aboutV4 = fitFacts(facts(10, 3000), MAX_ANSWER_BYTES, [4]);
    expect(serializedBytes(aboutV4)).toBeLessThanOrEqual(MAX_ANSWER_BYTES);
    expect(aboutV4.nft.chains.filter((c) => c.family === undefined)).toHaveLength(10);
    expect(aboutV4.nft.chains[0]?.family).toBeUndefined();
    expect(aboutV4.errors[0]).toMatch(/^facts: nft chains of ip6 podnet cut to the first \d+ of 3000/);
  });

  test("a request is about the families of its addresses", () => {
    expect(requestFamilies(["10.244.1.2", "10.96.0.10"])).toEqual([4]);
    expect(requestFamilies(["fd00:10:244:1::2", "10.244.1.2"])).toEqual([4, 6]);
    expect(requestFamilies(["fd00:10:96::a"])).toEqual([6]);
    expect(requestFamilies([])).toEqual([]);
  });
});

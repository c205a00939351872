/**
 * The tracing table: rendered text (golden/trace-table-tcp.nft, accepted by nft 1.0.6 in a scratch
 * netns), the validation of everything that reaches the ruleset, and the named counters read back
 * from real `nft -j list table` output after outer VXLAN datagrams left (golden/trace-table-counters.json).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  countersOf,
  deleteTraceTable,
  InvalidTraceRulesError,
  renderTraceTable,
  type TraceRules,
} from "./trace-table.ts";

const golden = (name: string): string => readFileSync(join(import.meta.dir, "golden", name), "utf8");

const RULES: TraceRules = {
  table: "podnet-trace-abcdefgh1",
  l4proto: "tcp",
  pairs: [
    ["10.244.1.2", "10.96.0.10"],
    ["10.244.1.2", "10.244.2.3"],
    ["fd00::1", "fd00::2"],
  ],
  ports: [80, 8080],
  vxlan: { port: 4789, peers: ["198.51.100.13", "2001:db8::9"] },
  sentinel: { address: "127.0.0.1", port: 39999 },
};

/** A leg after masquerade: node1's address to the endpoint. */
const NAT_PAIRS: TraceRules["natPairs"] = [["192.0.2.11", "10.244.2.3"]];

describe("renderTraceTable", () => {
  test("renders the golden table: pairs both ways, ports, ICMP errors, sentinel, observer and VXLAN counters", () => {
    expect(renderTraceTable(RULES)).toBe(golden("trace-table-tcp.nft"));
  });

  test("with the probe's source port, traces only its exact tuple per direction (golden)", () => {
    const text = renderTraceTable({ ...RULES, sourcePort: 40000, natPairs: NAT_PAIRS });
    expect(text).toBe(golden("trace-table-tcp-sport.nft"));
    // The legs after a fully-random masquerade: by the service side's port, one direction each.
    expect(text).toContain(
      "meta l4proto tcp ip saddr . ip daddr @natout4 th dport @ports meta nftrace set 1",
    );
    expect(text).toContain(
      "meta l4proto tcp ip saddr . ip daddr @natback4 th sport @ports meta nftrace set 1",
    );
    expect(text).toContain("elements = { 192.0.2.11 . 10.244.2.3 }");
    expect(text).toContain("elements = { 10.244.2.3 . 192.0.2.11 }");
    // The application's own connections between the pair (another source port) are not traced.
    expect(text).not.toMatch(/@pairs\d th dport @ports meta nftrace/);
    expect(text).not.toMatch(/@pairs\d th sport @ports meta nftrace/);
    expect(text).toContain(
      "meta l4proto tcp ip saddr . ip daddr @pairs4 th sport 40000 th dport @ports meta nftrace set 1",
    );
    expect(text).toContain(
      "meta l4proto tcp ip saddr . ip daddr @pairs4 th sport @ports th dport 40000 meta nftrace set 1",
    );
    expect(() => renderTraceTable({ ...RULES, sourcePort: 70000 })).toThrow(InvalidTraceRulesError);
  });

  test("ICMP errors about the flow are matched on their destination (a router's or node's error counts)", () => {
    const text = renderTraceTable(RULES);
    expect(text).toContain(
      "ip daddr @ends4 icmp type { destination-unreachable, time-exceeded, parameter-problem } meta nftrace set 1",
    );
    expect(text).toContain(
      "ip6 daddr @ends6 icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } meta nftrace set 1",
    );
    expect(text).not.toMatch(/@pairs\d icmp/);
  });

  test("replaces an earlier table of the same name in the same transaction", () => {
    const lines = renderTraceTable(RULES).split("\n");
    expect(lines.slice(0, 3)).toEqual([
      "add table inet podnet-trace-abcdefgh1",
      "delete table inet podnet-trace-abcdefgh1",
      "table inet podnet-trace-abcdefgh1 {",
    ]);
  });

  test("trace chains run before conntrack (-301) on prerouting and output; the observer after srcnat (101)", () => {
    const text = renderTraceTable(RULES);
    expect(text).toContain(
      "chain trace-pre {\n\t\ttype filter hook prerouting priority -301; policy accept;",
    );
    expect(text).toContain("chain trace-out {\n\t\ttype filter hook output priority -301; policy accept;");
    expect(text).toContain(
      "chain observe-post {\n\t\ttype filter hook postrouting priority 101; policy accept;",
    );
    // ct matches never fire at -301 (research/trace-anchors.md §7.8).
    expect(text).not.toContain(" ct ");
  });

  test("without the probe's port, the legs after NAT are traced like the other pairs", () => {
    const text = renderTraceTable({ ...RULES, natPairs: NAT_PAIRS });
    expect(text).not.toContain("natout");
    expect(text).toContain("192.0.2.11 . 10.244.2.3, 10.244.2.3 . 192.0.2.11");
  });

  test("ICMP traces the pairs without ports; no ports traces any port", () => {
    const icmp = renderTraceTable({ ...RULES, l4proto: "icmp", pairs: [["10.244.1.2", "10.244.2.3"]] });
    expect(icmp).toContain("meta l4proto icmp ip saddr . ip daddr @pairs4 meta nftrace set 1");
    expect(icmp).not.toContain("@ports");
    expect(icmp).not.toContain("pairs6");
    const anyPort = renderTraceTable({ ...RULES, l4proto: "udp", ports: [] });
    expect(anyPort).toContain("meta l4proto udp ip saddr . ip daddr @pairs4 meta nftrace set 1");
    expect(anyPort).not.toContain("th dport");
  });

  test("refuses anything that is not a valid name, address, port or loopback sentinel", () => {
    const bad: Partial<TraceRules>[] = [
      { table: "podnet" },
      { table: "podnet-trace-ABCDEFGH" },
      { table: "podnet-trace-abc" },
      { pairs: [] },
      { pairs: [["10.0.0.1", "fd00::1"]] },
      { pairs: [["10.0.0.1", "10.0.0.2 } flush ruleset"]] },
      { ports: [0] },
      { ports: [65536] },
      { vxlan: { port: 4789, peers: ["not-an-ip"] } },
      { sentinel: { address: "10.0.0.1", port: 9 } },
      { sentinel: { address: "127.0.0.1", port: 1.5 } },
      { l4proto: "sctp" as "tcp" },
    ];
    for (const b of bad) expect(() => renderTraceTable({ ...RULES, ...b })).toThrow(InvalidTraceRulesError);
  });
});

describe("countersOf", () => {
  test("names each counter by its comment, per chain, summing the two observer rules", () => {
    expect(countersOf(golden("trace-table-counters.json"))).toEqual([
      { chain: "trace-pre", name: "vxlan-in 198.51.100.13", packets: 0, bytes: 0 },
      { chain: "trace-pre", name: "vxlan-in 2001:db8::9", packets: 0, bytes: 0 },
      { chain: "observe-post", name: "observe-post", packets: 0, bytes: 0 },
      { chain: "observe-post", name: "vxlan-out 198.51.100.13", packets: 2, bytes: 61 },
      { chain: "observe-post", name: "vxlan-out 2001:db8::9", packets: 0, bytes: 0 },
    ]);
  });
});

describe("deleteTraceTable", () => {
  test("refuses a name that is not a tracing table's (it never deletes podnet's own)", async () => {
    await expect(deleteTraceTable("podnet")).rejects.toThrow(InvalidTraceRulesError);
  });
});

/**
 * parseTraceLine over real `nft monitor trace` output (nft 1.0.6, kernel 6.18) captured in a scratch
 * netns (golden/nft-monitor-trace.txt): a TCP connection DNATed by a rule with a comment, its
 * replies, a drop, a reject, a masquerade to a port range, IPv6 and ICMP, loopback sentinels.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTraceLine } from "./nft-trace-parse.ts";

const lines = readFileSync(join(import.meta.dir, "golden/nft-monitor-trace.txt"), "utf8")
  .split("\n")
  .filter((l) => l !== "");
const events = lines.map((l, i) => parseTraceLine(l, i));
const find = (pred: (l: string) => boolean): string => {
  const l = lines.find(pred);
  if (l === undefined) throw new Error("fixture line missing");
  return l;
};

describe("parseTraceLine", () => {
  test("every captured line parses; atMs and the raw line are kept", () => {
    expect(events.every((e) => e !== undefined)).toBe(true);
    expect(events[3]?.atMs).toBe(3);
    expect(events[0]?.raw).toBe(lines[0]?.trimEnd());
  });

  test("a packet line: hook interfaces, addresses, ports, TTL, protocol and TCP flags", () => {
    const syn = parseTraceLine(
      find((l) => l.includes("trace-out packet") && l.includes("flags == syn")),
      5,
    );
    expect(syn).toMatchObject({
      traceId: "56029b5f",
      family: "inet",
      table: "podnet-trace-abcdefgh",
      chain: "trace-out",
      type: "packet",
      oif: "veth0",
      saddr: "192.0.2.1",
      daddr: "10.96.0.10",
      sport: 53316,
      dport: 80,
      ttl: 64,
      l4proto: "tcp",
      tcpFlags: "syn",
    });
    expect(syn?.iif).toBeUndefined();
    const synAck = parseTraceLine(
      find((l) => l.includes("trace-pre packet") && l.includes("0x12")),
      0,
    );
    expect(synAck).toMatchObject({ iif: "veth0", saddr: "192.0.2.2", sport: 8080, tcpFlags: "0x12" });
  });

  test("after DNAT the next chain's packet line shows the endpoint; ip-family tables omit 'ip protocol'", () => {
    const filt = parseTraceLine(
      find((l) => l.includes("ip natx filt packet") && l.includes("flags == syn")),
      0,
    );
    expect(filt).toMatchObject({
      family: "ip",
      table: "natx",
      chain: "filt",
      daddr: "192.0.2.2",
      dport: 8080,
    });
    expect(filt?.l4proto).toBe("tcp");
  });

  test("a rule line: the rule text without counter values, its comment and the verdict", () => {
    const dnat = parseTraceLine(
      find((l) => l.includes("dnat to")),
      0,
    );
    expect(dnat).toMatchObject({
      type: "rule",
      rule: 'ip daddr 10.96.0.10 tcp dport 80 counter dnat to 192.0.2.2:8080 comment "svc default/web"',
      verdict: "accept",
    });
    expect(
      parseTraceLine(
        find((l) => l.includes("drop (verdict drop)")),
        0,
      ),
    ).toMatchObject({
      rule: "tcp dport 8082 drop",
      verdict: "drop",
    });
    expect(
      parseTraceLine(
        find((l) => l.includes("reject (verdict")),
        0,
      )?.verdict,
    ).toBe("drop");
    expect(
      parseTraceLine(
        find((l) => l.includes("(verdict jump services)")),
        0,
      )?.verdict,
    ).toBe("jump services");
  });

  test("a policy line", () => {
    expect(
      parseTraceLine(
        find((l) => l.endsWith("policy accept ")),
        0,
      ),
    ).toMatchObject({ type: "policy", verdict: "accept" });
  });

  test("the observer after srcnat shows the masqueraded source port", () => {
    const post = parseTraceLine(
      find((l) => l.includes("observe-post packet") && l.includes("dport 8080 udp")),
      0,
    );
    expect(post?.sport).toBe(40003);
    const before = parseTraceLine(
      find((l) => l.includes("natx post packet") && l.includes("udp dport 8080")),
      0,
    );
    expect(before?.sport).toBe(41540);
  });

  test("IPv6 and ICMP packets", () => {
    const v6 = parseTraceLine(
      find((l) => l.includes("ip6 saddr 2001:db8::1") && l.includes("trace-out packet")),
      0,
    );
    expect(v6).toMatchObject({
      saddr: "2001:db8::1",
      daddr: "2001:db8::2",
      ttl: 64,
      l4proto: "udp",
      dport: 8080,
    });
    const unreach = parseTraceLine(
      find((l) => l.includes("icmpv6 type destination-unreachable")),
      0,
    );
    expect(unreach).toMatchObject({ l4proto: "ipv6-icmp", icmpType: "destination-unreachable" });
    expect(unreach?.sport).toBeUndefined();
    const echo = parseTraceLine(
      find((l) => l.includes("icmp type echo-request") && l.includes("trace-out")),
      0,
    );
    expect(echo).toMatchObject({ l4proto: "icmp", icmpType: "echo-request", daddr: "192.0.2.2" });
  });

  test("a loopback packet entering prerouting (the sentinel's way back)", () => {
    const lo = parseTraceLine(
      find((l) => l.includes('iif "lo"')),
      0,
    );
    expect(lo).toMatchObject({ iif: "lo", saddr: "127.0.0.1", daddr: "127.0.0.1", dport: 9, l4proto: "udp" });
  });

  test("other lines are not events; an unknown shape keeps its verdict", () => {
    expect(parseTraceLine("", 0)).toBeUndefined();
    expect(parseTraceLine("Error: some nft complaint", 0)).toBeUndefined();
    expect(parseTraceLine("trace id 0a0b0c0d ip filter input verdict return", 0)).toMatchObject({
      type: "unknown",
      verdict: "return",
    });
  });
});

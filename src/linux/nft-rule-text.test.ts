/** ruleText over `nft -j` rule expressions captured from nft 1.0.6 (the text each printed is the expectation). */
import { describe, expect, test } from "bun:test";
import { ruleText, withoutCounterValues } from "./nft-rule-text.ts";

const J = (s: string): unknown[] => JSON.parse(s) as unknown[];

describe("ruleText", () => {
  test("matches, NAT, verdict maps, marks and comments as nft lists them", () => {
    const cases: [string, string | undefined, string][] = [
      [
        '[{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.96.0.10"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}}, {"counter": {"packets": 3, "bytes": 180}}, {"dnat": {"addr": "192.0.2.2", "port": 8080}}]',
        "svc default/web",
        'ip daddr 10.96.0.10 tcp dport 80 counter dnat to 192.0.2.2:8080 comment "svc default/web"',
      ],
      [
        '[{"match": {"op": "==", "left": {"&": [{"meta": {"key": "mark"}}, 16384]}, "right": 16384}}, {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"^": [{"meta": {"key": "mark"}}, 16384]}}}, {"masquerade": {"flags": "fully-random"}}]',
        undefined,
        "meta mark & 0x00004000 == 0x00004000 meta mark set meta mark ^ 0x00004000 masquerade fully-random",
      ],
      [
        '[{"vmap": {"key": {"concat": [{"payload": {"protocol": "ip", "field": "daddr"}}, {"meta": {"key": "l4proto"}}, {"payload": {"protocol": "th", "field": "dport"}}]}, "data": "@service-ips"}}]',
        undefined,
        "ip daddr . meta l4proto . th dport vmap @service-ips",
      ],
      [
        '[{"match": {"op": "!", "left": {"ct": {"key": "status"}}, "right": "dnat"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "@nodeport-ips"}}, {"goto": {"target": "reject-service"}}]',
        undefined,
        "ct status ! dnat ip daddr @nodeport-ips goto reject-service",
      ],
      [
        '[{"match": {"op": "==", "left": {"numgen": {"mode": "random", "mod": 2, "offset": 0}}, "right": 0}}, {"goto": {"target": "ep-x"}}]',
        undefined,
        "numgen random mod 2 0 goto ep-x",
      ],
      [
        '[{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"set": ["10.96.0.10", "192.0.2.2"]}}}, {"mangle": {"key": {"meta": {"key": "nftrace"}}, "value": 1}}]',
        undefined,
        "ip daddr { 10.96.0.10, 192.0.2.2 } meta nftrace set 1",
      ],
      ['[{"reject": {"type": "tcp reset"}}]', undefined, "reject with tcp reset"],
      ['[{"reject": {"type": "icmp", "expr": "port-unreachable"}}]', undefined, "reject"],
      [
        '[{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "192.0.2.2"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 8080}}, {"masquerade": {"port": {"range": [40000, 40010]}}}]',
        undefined,
        "ip daddr 192.0.2.2 udp dport 8080 masquerade to :40000-40010",
      ],
      [
        '[{"set": {"op": "update", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@aff-x"}}]',
        undefined,
        "update @aff-x { ip saddr }",
      ],
      [
        '[{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}}, {"vmap": {"key": {"concat": [{"meta": {"key": "l4proto"}}, {"payload": {"protocol": "th", "field": "dport"}}]}, "data": "@service-nodeports"}}]',
        undefined,
        "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports",
      ],
      [
        '[{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "eth0"}}, {"accept": null}]',
        undefined,
        'oifname "eth0" accept',
      ],
    ];
    for (const [exprs, comment, text] of cases) expect(ruleText(J(exprs), comment)).toBe(text);
  });

  test("an expression it does not know is shown as its JSON, not dropped", () => {
    expect(ruleText(J('[{"synproxy": {"mss": 1460}}]'))).toBe('{"synproxy":{"mss":1460}}');
  });
});

describe("withoutCounterValues", () => {
  test("keeps the counter keyword, drops the values", () => {
    expect(withoutCounterValues("ip daddr 10.96.0.10 counter packets 5 bytes 230 dnat to 1.2.3.4")).toBe(
      "ip daddr 10.96.0.10 counter dnat to 1.2.3.4",
    );
  });
});

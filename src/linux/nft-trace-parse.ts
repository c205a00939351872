/**
 * Pure: one line of `nft monitor trace` (nft 1.0.6 prints text only, even with -j) as a
 * TraceEvent. The three line shapes, after `trace id ID FAMILY TABLE CHAIN`:
 *   packet: iif "veth0" ether saddr … ip saddr A ip daddr B … ip ttl 64 … tcp sport 1 tcp dport 2 tcp flags == syn …
 *   rule RULE TEXT (verdict accept)
 *   policy accept
 * The trace id is not a packet id (research/trace-anchors.md §7.4): stitch by addresses and ports.
 */
import type { TraceEvent } from "./kernel-facts.ts";
import { withoutCounterValues } from "./nft-rule-text.ts";

const HEADER = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/;

function field(text: string, re: RegExp): string | undefined {
  return re.exec(text)?.[1];
}

function num(text: string, re: RegExp): number | undefined {
  const v = field(text, re);
  return v === undefined ? undefined : Number(v);
}

/** The transport protocol a packet line shows: the network header's, or the transport header's name. */
function l4protoOf(headers: string): string | undefined {
  const declared = field(headers, /(?:^| )ip protocol (\S+)/) ?? field(headers, /(?:^| )ip6 nexthdr (\S+)/);
  if (declared !== undefined) return declared;
  const transport = field(headers, /(?:^| )(tcp|udp|sctp|icmp|icmpv6|udplite) (?:sport|type) /);
  return transport === "icmpv6" ? "ipv6-icmp" : transport;
}

function packetFields(headers: string): Partial<TraceEvent> {
  const out: Record<string, string | number> = {};
  const set = (k: string, v: string | number | undefined): void => {
    if (v !== undefined && !(typeof v === "number" && Number.isNaN(v))) out[k] = v;
  };
  set("iif", field(headers, /(?:^| )iif "([^"]*)"/));
  set("oif", field(headers, /(?:^| )oif "([^"]*)"/));
  set("saddr", field(headers, /(?:^| )ip6? saddr (\S+)/));
  set("daddr", field(headers, /(?:^| )ip6? daddr (\S+)/));
  set("ttl", num(headers, /(?:^| )(?:ip ttl|ip6 hoplimit) (\d+)/));
  set("l4proto", l4protoOf(headers));
  set("sport", num(headers, /(?:^| )(?:tcp|udp|sctp|udplite) sport (\d+)/));
  set("dport", num(headers, /(?:^| )(?:tcp|udp|sctp|udplite) dport (\d+)/));
  set("tcpFlags", field(headers, /(?:^| )tcp flags (?:== )?(\S+)/));
  set("icmpType", field(headers, /(?:^| )icmp(?:v6)? type (\S+)/));
  return out as Partial<TraceEvent>;
}

/** Pure: a TraceEvent, or undefined for a line that is not a trace line. `atMs` is stamped on it. */
export function parseTraceLine(line: string, atMs: number): TraceEvent | undefined {
  const raw = line.trimEnd();
  const m = HEADER.exec(raw.trimStart());
  if (m === null) return undefined;
  const [, traceId, family, table, chain, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const base = { atMs, traceId, family, table, chain, raw };
  if (rest.startsWith("packet: "))
    return { ...base, type: "packet", ...packetFields(rest.slice("packet: ".length)) };
  const rule = /^rule (.*) \(verdict ([^)]+)\)$/.exec(rest);
  if (rule?.[1] !== undefined && rule[2] !== undefined)
    return { ...base, type: "rule", rule: withoutCounterValues(rule[1]), verdict: rule[2] };
  const policy = /^policy (\S+)$/.exec(rest);
  if (policy?.[1] !== undefined) return { ...base, type: "policy", verdict: policy[1] };
  // NFT_TRACETYPE_RETURN and anything newer nft versions print.
  const verdict = /^verdict (.+)$/.exec(rest)?.[1];
  return { ...base, type: "unknown", ...(verdict !== undefined ? { verdict } : {}) };
}

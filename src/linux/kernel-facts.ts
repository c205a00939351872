/**
 * What podnet reads back from a node's kernel, as plain data (types only): links and addresses,
 * routes, neighbours and VXLAN forwarding entries, conntrack entries, podnet's nft sets, and
 * parsed `nft monitor trace` lines. The readers in this folder return these; the node agent sends
 * them to `podnet explain` and `podnet trace` (cluster/diagnosis-protocol.ts).
 */

export interface InterfaceFact {
  readonly name: string;
  readonly index: number;
  /** `ip -d link` kind: "bridge", "veth", "vxlan", "dummy", … or "" for a plain device. */
  readonly kind: string;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  /** The bridge it is a port of. */
  readonly master?: string;
  /** `ip link` alias (podnet names host veths `podnet:NETWORK:CONTAINER:IFNAME`). */
  readonly alias?: string;
  /** Addresses with prefix length, e.g. "10.244.1.1/24". */
  readonly addresses: readonly string[];
  readonly vxlan?: {
    readonly vni: number;
    readonly port: number;
    readonly local?: string;
    readonly dev?: string;
  };
}

export interface RouteFact {
  /** "default" or a prefix ("10.244.2.0/24"); a host route is written with its length. */
  readonly dst: string;
  readonly dev?: string;
  readonly via?: string;
  readonly src?: string;
  /** "kernel", "static", "boot", "200" (podnet's peer routes), … */
  readonly proto?: string;
  readonly scope?: string;
  readonly onlink: boolean;
  /** "unicast", "unreachable", "blackhole", "prohibit", "local", … */
  readonly type: string;
}

export interface NeighbourFact {
  readonly dev: string;
  readonly address: string;
  readonly mac?: string;
  /** "PERMANENT", "REACHABLE", "STALE", "FAILED", … */
  readonly state: readonly string[];
}

export interface FdbFact {
  readonly dev: string;
  readonly mac: string;
  /** The VXLAN remote for the MAC. */
  readonly dst?: string;
  readonly flags: readonly string[];
}

export interface ConntrackTuple {
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
  /** ICMP id/type/code when the protocol is icmp. */
  readonly icmp?: { readonly type: number; readonly code: number; readonly id: number };
}

export interface ConntrackFact {
  readonly proto: string;
  /** TCP state ("SYN_SENT", "ESTABLISHED", "TIME_WAIT", …); absent for udp/icmp. */
  readonly state?: string;
  readonly timeoutSeconds: number;
  readonly original: ConntrackTuple;
  readonly reply: ConntrackTuple;
  /** "ASSURED", "UNREPLIED", "SEEN_REPLY" … */
  readonly flags: readonly string[];
  readonly mark?: number;
}

/**
 * The table family of a fact of podnet's proxy tables: "ip6" for the live `ip6 podnet` (or
 * `ip6 podnet-b`). Absent means the IPv4 table, so an answer from an agent that read only the
 * IPv4 table still reads the same.
 */
export type NftTableFamily = "ip6";

/** One set or map of podnet's nft table: elements as their components. */
export interface NftSetFact {
  readonly name: string;
  /** "ip6" for a set of `ip6 podnet`; absent for `ip podnet`. */
  readonly family?: NftTableFamily;
  /** key components ("10.96.0.40", "tcp", "80") and, for maps, the value ("10.244.1.5", "8080") or verdict ("goto endpoints-tcp-3"). */
  readonly elements: readonly { readonly key: readonly string[]; readonly value?: readonly string[] }[];
}

/** One chain of podnet's nft table with its rules as nft prints them (one line each, no handles/counters). */
export interface NftChainFact {
  readonly name: string;
  /** "ip6" for a chain of `ip6 podnet`; absent for `ip podnet`. */
  readonly family?: NftTableFamily;
  readonly rules: readonly string[];
}

export interface NftFacts {
  /** Tables named podnet, podnet-b (or podnet-trace-…) present, as "ip podnet". */
  readonly tables: readonly string[];
  /**
   * The proxy's live table of each family read, as "ip podnet-b" (linux/nft-table-family.ts: a
   * full sync swaps `podnet` and `podnet-b`; the live one has the base chains); a family whose
   * table is absent has none. Absent from agents before the table alternated: theirs is `podnet`.
   */
  readonly liveTables?: readonly string[];
  /**
   * Sets and maps of the live IPv4 and IPv6 tables (absent tables give none). Both tables use
   * the same names (`service-ips`, …): `family` tells them apart.
   */
  readonly sets: readonly NftSetFact[];
  /** Chains of the live IPv4 and IPv6 tables, told apart by `family`. */
  readonly chains: readonly NftChainFact[];
}

/** One `nft monitor trace` line, parsed. */
export interface TraceEvent {
  /** Milliseconds since the agent armed. */
  readonly atMs: number;
  readonly traceId: string;
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  /** "packet" (headers as the chain saw them), "rule" (a rule that matched), "policy", "unknown". */
  readonly type: "packet" | "rule" | "policy" | "unknown";
  /** The rule text (type rule), without counters. */
  readonly rule?: string;
  /** "accept", "drop", "continue", "jump CHAIN", "goto CHAIN", "return", … */
  readonly verdict?: string;
  readonly iif?: string;
  readonly oif?: string;
  readonly saddr?: string;
  readonly daddr?: string;
  readonly sport?: number;
  readonly dport?: number;
  readonly ttl?: number;
  readonly l4proto?: string;
  readonly tcpFlags?: string;
  /** ICMP/ICMPv6 type as nft names it ("echo-request", "destination-unreachable", …), packet lines. */
  readonly icmpType?: string;
  readonly raw: string;
}

export interface CounterFact {
  readonly chain: string;
  /** Which counter: "vxlan-out 198.51.100.13", "vxlan-in …", "observe …". */
  readonly name: string;
  readonly packets: number;
  readonly bytes: number;
}

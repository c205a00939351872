/**
 * The tracing table an agent installs for one `podnet trace` request: `inet podnet-trace-<id>`,
 * narrowed to the request's address pairs (both directions) and ports. research/trace-anchors.md §7:
 * - the trace bit is set at raw−1 (−301) in prerouting AND output (traffic the node originates
 *   skips prerouting); conntrack has not run there, so the match is by addresses and ports;
 * - an observer chain at srcnat+1 (101) makes the trace show the packet after masquerade;
 * - VXLAN encapsulation clears the trace bit, so outer packets to/from each peer are counted;
 * - a sentinel datagram to loopback, traced by its own rule, proves the monitor is live.
 * Counters carry their name as the rule's comment ("vxlan-out PEER", "vxlan-in PEER", "observe-post").
 */
import { formatIP, type IPAddress, parseIP } from "../ipnet/address.ts";
import { run } from "./exec.ts";
import type { CounterFact } from "./kernel-facts.ts";
import {
  argvIn,
  isRecord,
  KernelOutputError,
  type NetnsOption,
  parseToolJson,
  runRead,
} from "./kernel-read.ts";

export interface TraceRules {
  /** "podnet-trace-<id>", family inet. */
  readonly table: string;
  readonly l4proto: "tcp" | "udp" | "icmp";
  /** (saddr, daddr); the rules also match the reverse; v4 and v6. */
  readonly pairs: readonly (readonly [string, string])[];
  /**
   * tcp/udp: the destination ports (the Service's, the endpoints' target ports). With `sourcePort`
   * a packet is traced only on the probe's exact tuple per direction (`th sport S th dport @ports`
   * and the reply `th sport @ports th dport S`); without it (an external source whose port is not
   * known) when `th sport` or `th dport` is one of them. Empty: any port.
   */
  readonly ports: readonly number[];
  /** tcp/udp: the probe's own port, on `pairs` (the legs before any source NAT). */
  readonly sourcePort?: number;
  /**
   * (saddr, daddr) of the legs after a masquerade (the proxy's is fully-random, so the source port
   * is not the probe's): matched per direction by the service side's port, `th dport @ports` from
   * saddr to daddr and `th sport @ports` back. Only used with `sourcePort`; without it every pair
   * gets the port-set form.
   */
  readonly natPairs?: readonly (readonly [string, string])[];
  /** Count outer udp dport PORT to/from each peer. */
  readonly vxlan: { readonly port: number; readonly peers: readonly string[] };
  /** Loopback udp, traced, for monitor readiness. */
  readonly sentinel: { readonly address: string; readonly port: number };
}

export const TRACE_TABLE = /^podnet-trace-[a-z0-9]{8,32}$/;

export class InvalidTraceRulesError extends Error {
  override readonly name = "InvalidTraceRulesError";
  constructor(
    readonly table: string,
    reason: string,
  ) {
    super(`Invalid tracing rules for table "${table}": ${reason}`);
  }
}

function validateTable(table: string): string {
  if (!TRACE_TABLE.test(table))
    throw new InvalidTraceRulesError(
      table,
      "the name must match podnet-trace-<8 to 32 lowercase letters or digits>",
    );
  return table;
}

function validatePort(table: string, port: number, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new InvalidTraceRulesError(table, `${what} ${port} is not a port (1-65535)`);
  return port;
}

function address(table: string, text: string, what: string): IPAddress {
  try {
    return parseIP(text);
  } catch (e) {
    throw new InvalidTraceRulesError(table, `${what}: ${(e as Error).message}`);
  }
}

function isLoopback(ip: IPAddress): boolean {
  return ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n;
}

interface Family {
  readonly ip: "ip" | "ip6";
  readonly addrType: "ipv4_addr" | "ipv6_addr";
  readonly icmp: "icmp" | "ipv6-icmp";
  /** ICMP errors about a flow (unreachable, too big, time exceeded): traced with tcp/udp too. */
  readonly icmpErrors: string;
  readonly suffix: "4" | "6";
}

const V4: Family = {
  ip: "ip",
  addrType: "ipv4_addr",
  icmp: "icmp",
  icmpErrors: "icmp type { destination-unreachable, time-exceeded, parameter-problem }",
  suffix: "4",
};
const V6: Family = {
  ip: "ip6",
  addrType: "ipv6_addr",
  icmp: "ipv6-icmp",
  icmpErrors: "icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem }",
  suffix: "6",
};

/** Pure: the `nft -f` text that (re)creates the tracing table. Validates everything it renders. */
export function renderTraceTable(rules: TraceRules): string {
  const table = validateTable(rules.table);
  if (!["tcp", "udp", "icmp"].includes(rules.l4proto))
    throw new InvalidTraceRulesError(table, `unknown protocol "${String(rules.l4proto)}"`);
  const checkPairs = (list: readonly (readonly [string, string])[], what: string) =>
    list.map(([a, b], i) => {
      const s = address(table, a, `${what} ${i + 1} source`);
      const d = address(table, b, `${what} ${i + 1} destination`);
      if (s.family !== d.family)
        throw new InvalidTraceRulesError(table, `${what} ${i + 1} mixes IPv4 and IPv6`);
      return [s, d] as const;
    });
  const pairs = checkPairs(rules.pairs, "pair");
  if (pairs.length === 0) throw new InvalidTraceRulesError(table, "no address pairs to trace");
  const ports = [...new Set(rules.ports.map((p) => validatePort(table, p, "port")))].sort((a, b) => a - b);
  const vxlanPort = validatePort(table, rules.vxlan.port, "VXLAN port");
  const peers = [...new Set(rules.vxlan.peers.map((p) => formatIP(address(table, p, "VXLAN peer"))))];
  const sentinel = address(table, rules.sentinel.address, "sentinel");
  if (!isLoopback(sentinel))
    throw new InvalidTraceRulesError(table, `sentinel ${rules.sentinel.address} is not loopback`);
  const sentinelPort = validatePort(table, rules.sentinel.port, "sentinel port");
  const sourcePort =
    rules.sourcePort === undefined || rules.l4proto === "icmp"
      ? undefined
      : validatePort(table, rules.sourcePort, "source port");
  // Without the probe's port (or for ICMP), the legs after NAT are traced like the others.
  const natPairs = checkPairs(rules.natPairs ?? [], "NAT pair");
  const exactOnly = sourcePort !== undefined;
  const allPairs = exactOnly ? pairs : [...pairs, ...natPairs];

  const sets: string[] = [];
  const trace: string[] = [];
  const observe: string[] = [];
  const withPorts = rules.l4proto !== "icmp" && ports.length > 0;
  if (withPorts)
    sets.push(`\tset ports {\n\t\ttype inet_service\n\t\telements = { ${ports.join(", ")} }\n\t}`);
  const ofFamily = (list: readonly (readonly [IPAddress, IPAddress])[], f: Family) =>
    list.filter(([s]) => (s.family === 4) === (f === V4));
  const pairSet = (name: string, f: Family, elements: Iterable<string>) =>
    `\tset ${name} {\n\t\ttype ${f.addrType} . ${f.addrType}\n\t\telements = { ${[...elements].join(", ")} }\n\t}`;
  for (const f of [V4, V6]) {
    const mine = ofFamily(allPairs, f);
    const nat = exactOnly ? ofFamily(natPairs, f) : [];
    if (mine.length === 0 && nat.length === 0) continue;
    const elements = new Set<string>();
    const ends = new Set<string>();
    for (const [s, d] of mine) {
      elements.add(`${formatIP(s)} . ${formatIP(d)}`);
      elements.add(`${formatIP(d)} . ${formatIP(s)}`);
    }
    for (const [s, d] of [...mine, ...nat]) {
      ends.add(formatIP(s));
      ends.add(formatIP(d));
    }
    if (mine.length > 0) sets.push(pairSet(`pairs${f.suffix}`, f, elements));
    sets.push(
      `\tset ends${f.suffix} {\n\t\ttype ${f.addrType}\n\t\telements = { ${[...ends].join(", ")} }\n\t}`,
    );
    if (nat.length > 0)
      sets.push(
        pairSet(`natout${f.suffix}`, f, new Set(nat.map(([s, d]) => `${formatIP(s)} . ${formatIP(d)}`))),
        pairSet(`natback${f.suffix}`, f, new Set(nat.map(([s, d]) => `${formatIP(d)} . ${formatIP(s)}`))),
      );
    const pairMatch = `${f.ip} saddr . ${f.ip} daddr @pairs${f.suffix}`;
    const addrs = (set: string) => `${f.ip} saddr . ${f.ip} daddr @${set}${f.suffix}`;
    const proto = rules.l4proto === "icmp" ? f.icmp : rules.l4proto;
    if (withPorts && sourcePort !== undefined) {
      // The probe's exact flow only: the application's own connections between the pair are left alone.
      if (mine.length > 0) {
        trace.push(
          `meta l4proto ${proto} ${pairMatch} th sport ${sourcePort} th dport @ports meta nftrace set 1`,
        );
        trace.push(
          `meta l4proto ${proto} ${pairMatch} th sport @ports th dport ${sourcePort} meta nftrace set 1`,
        );
      }
      // After a fully-random masquerade only the service side's port is known: one direction each.
      if (nat.length > 0) {
        trace.push(`meta l4proto ${proto} ${addrs("natout")} th dport @ports meta nftrace set 1`);
        trace.push(`meta l4proto ${proto} ${addrs("natback")} th sport @ports meta nftrace set 1`);
      }
    } else if (withPorts) {
      trace.push(`meta l4proto ${proto} ${pairMatch} th dport @ports meta nftrace set 1`);
      trace.push(`meta l4proto ${proto} ${pairMatch} th sport @ports meta nftrace set 1`);
    }
    if (withPorts) {
      // After SNAT the source is the node's; the destination and the service port stay.
      observe.push(
        `meta l4proto ${proto} ${f.ip} daddr @ends${f.suffix} th dport @ports counter comment "observe-post"`,
      );
      observe.push(
        `meta l4proto ${proto} ${f.ip} daddr @ends${f.suffix} th dport != @ports th sport @ports counter comment "observe-post"`,
      );
    } else if (mine.length > 0) {
      trace.push(`meta l4proto ${proto} ${pairMatch} meta nftrace set 1`);
      observe.push(`meta l4proto ${proto} ${f.ip} daddr @ends${f.suffix} counter comment "observe-post"`);
    }
    // ICMP errors about the flow come from a router or a node (no route, too big, reject), not from
    // the pair's other end: they are matched on their destination, one of the flow's ends.
    if (rules.l4proto !== "icmp")
      trace.push(`${f.ip} daddr @ends${f.suffix} ${f.icmpErrors} meta nftrace set 1`);
  }
  const vxlanIn: string[] = [];
  const vxlanOut: string[] = [];
  for (const p of peers) {
    const ip = parseIP(p).family === 4 ? "ip" : "ip6";
    vxlanIn.push(`${ip} saddr ${p} udp dport ${vxlanPort} counter comment "vxlan-in ${p}"`);
    vxlanOut.push(`${ip} daddr ${p} udp dport ${vxlanPort} counter comment "vxlan-out ${p}"`);
  }
  const sentinelIp = sentinel.family === 4 ? "ip" : "ip6";
  const chain = (name: string, hook: string, priority: number, body: string[]): string =>
    [
      `\tchain ${name} {`,
      `\t\ttype filter hook ${hook} priority ${priority}; policy accept;`,
      ...body.map((r) => `\t\t${r}`),
      "\t}",
    ].join("\n");
  return [
    `add table inet ${table}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    ...sets,
    chain("trace-pre", "prerouting", -301, [...trace, ...vxlanIn]),
    chain("trace-out", "output", -301, [
      ...trace,
      `${sentinelIp} daddr ${formatIP(sentinel)} udp dport ${sentinelPort} meta nftrace set 1`,
    ]),
    chain("observe-post", "postrouting", 101, [...observe, ...vxlanOut]),
    "}",
    "",
  ].join("\n");
}

export class TraceTableError extends Error {
  override readonly name = "TraceTableError";
  constructor(
    readonly table: string,
    reason: string,
  ) {
    super(`Cannot install tracing table "inet ${table}": ${reason}`);
  }
}

/** Installs (or replaces) the tracing table in one `nft -f` transaction. */
export async function installTraceTable(rules: TraceRules, options: NetnsOption = {}): Promise<void> {
  const text = renderTraceTable(rules);
  const argv = argvIn(options, ["nft", "-f", "-"]);
  const r = await run(argv, { stdin: text, timeoutMs: 30_000 });
  if (r.code !== 0)
    throw new TraceTableError(
      rules.table,
      r.stderr.trim().split("\n").slice(0, 3).join("; ") || `nft -f exited with code ${r.code} (no output)`,
    );
}

/** Deletes the tracing table; false when it was not there. */
export async function deleteTraceTable(table: string, options: NetnsOption = {}): Promise<boolean> {
  validateTable(table);
  const r = await runRead(options, ["nft", "delete", "table", "inet", table], (_c, stderr) =>
    /No such file or directory/.test(stderr),
  );
  return r.code === 0;
}

/** Names of the inet podnet-trace-* tables present (leftovers of a crashed agent, or live ones). */
export async function listTraceTables(options: NetnsOption = {}): Promise<string[]> {
  const r = await runRead(options, ["nft", "-j", "list", "tables", "inet"]);
  const doc = parseToolJson("nft -j list tables", r.stdout, { nftables: [] });
  if (!isRecord(doc) || !Array.isArray(doc.nftables))
    throw new KernelOutputError("nft -j list tables", 'no "nftables" array');
  const out: string[] = [];
  for (const o of doc.nftables) {
    if (!isRecord(o) || !isRecord(o.table) || o.table.family !== "inet") continue;
    const name = String(o.table.name);
    if (TRACE_TABLE.test(name)) out.push(name);
  }
  return out;
}

/** Pure: the named counters (rules with a counter and a comment) of `nft -j list table`, summed per chain and name. */
export function countersOf(json: string): CounterFact[] {
  const doc = parseToolJson("nft -j list table", json, { nftables: [] });
  if (!isRecord(doc) || !Array.isArray(doc.nftables))
    throw new KernelOutputError("nft -j list table", 'no "nftables" array');
  const byKey = new Map<string, CounterFact>();
  for (const o of doc.nftables) {
    if (
      !isRecord(o) ||
      !isRecord(o.rule) ||
      typeof o.rule.comment !== "string" ||
      !Array.isArray(o.rule.expr)
    )
      continue;
    for (const e of o.rule.expr) {
      if (!isRecord(e) || !isRecord(e.counter)) continue;
      const chain = String(o.rule.chain);
      const key = `${chain}\n${o.rule.comment}`;
      const prev = byKey.get(key);
      byKey.set(key, {
        chain,
        name: o.rule.comment,
        packets: (prev?.packets ?? 0) + Number(e.counter.packets ?? 0),
        bytes: (prev?.bytes ?? 0) + Number(e.counter.bytes ?? 0),
      });
    }
  }
  return [...byKey.values()];
}

/** The tracing table's named counters ("vxlan-out PEER", "vxlan-in PEER", "observe-post"). */
export async function readTraceCounters(table: string, options: NetnsOption = {}): Promise<CounterFact[]> {
  validateTable(table);
  const r = await runRead(options, ["nft", "-j", "list", "table", "inet", table]);
  return countersOf(r.stdout);
}

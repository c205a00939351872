/**
 * Conntrack entries naming given addresses, from `conntrack -L` text (conntrack-tools 1.4.7 has no
 * JSON). The reply tuple is what makes NAT visible: a Service flow's reply comes from the endpoint
 * it was DNATed to, a masqueraded flow's reply goes to the node address it was rewritten to.
 */
import { formatIP, parseIP, tryParseIP } from "../ipnet/address.ts";
import type { ConntrackFact, ConntrackTuple } from "./kernel-facts.ts";
import { type NetnsOption, runRead } from "./kernel-read.ts";

interface TupleBuilder {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
}

function finish(t: TupleBuilder): ConntrackTuple | undefined {
  if (t.src === undefined || t.dst === undefined) return undefined;
  return {
    src: t.src,
    dst: t.dst,
    ...(t.sport !== undefined ? { sport: t.sport } : {}),
    ...(t.dport !== undefined ? { dport: t.dport } : {}),
    ...(t.type !== undefined && t.code !== undefined
      ? { icmp: { type: t.type, code: t.code, id: t.id ?? 0 } }
      : {}),
  };
}

const TUPLE_KEYS = new Set(["src", "dst", "sport", "dport", "type", "code", "id"]);

/**
 * Pure: one `conntrack -L` line (also with `-o extended`'s leading "ipv4 2"), e.g.
 * `tcp 6 119 TIME_WAIT src=A dst=B sport=1 dport=2 src=B dst=A sport=2 dport=1 [ASSURED] mark=0 use=1`.
 * Lines that are not entries (the summary on stderr, blank lines) give undefined.
 */
export function parseConntrackLine(line: string): ConntrackFact | undefined {
  let tokens = line.trim().split(/\s+/);
  if (tokens[0] === "ipv4" || tokens[0] === "ipv6") tokens = tokens.slice(2);
  const [proto, protoNum, timeout, ...rest] = tokens;
  if (proto === undefined || !/^[a-z][a-z0-9-]*$/.test(proto)) return undefined;
  if (!/^\d+$/.test(protoNum ?? "") || !/^\d+$/.test(timeout ?? "")) return undefined;
  let state: string | undefined;
  const tuples: TupleBuilder[] = [{}];
  const flags: string[] = [];
  let mark: number | undefined;
  for (const token of rest) {
    const flag = /^\[([A-Z_]+)\]$/.exec(token);
    if (flag?.[1] !== undefined) {
      flags.push(flag[1]);
      continue;
    }
    const eq = token.indexOf("=");
    if (eq < 0) {
      if (
        state === undefined &&
        tuples.length === 1 &&
        tuples[0]?.src === undefined &&
        /^[A-Z_]+$/.test(token)
      )
        state = token;
      continue;
    }
    const key = token.slice(0, eq);
    const value = token.slice(eq + 1);
    if (key === "mark") {
      mark = Number(value);
      continue;
    }
    if (!TUPLE_KEYS.has(key)) continue;
    let current = tuples[tuples.length - 1] as TupleBuilder;
    // The second "src=" opens the reply tuple.
    if (key === "src" && current.src !== undefined) {
      current = {};
      tuples.push(current);
    }
    if (key === "src" || key === "dst") current[key] = value;
    else current[key as "sport" | "dport" | "type" | "code" | "id"] = Number(value);
  }
  const original = tuples[0] ? finish(tuples[0]) : undefined;
  const reply = tuples[1] ? finish(tuples[1]) : undefined;
  if (original === undefined || reply === undefined) return undefined;
  return {
    proto,
    ...(state !== undefined ? { state } : {}),
    timeoutSeconds: Number(timeout),
    original,
    reply,
    flags,
    ...(mark !== undefined && Number.isFinite(mark) ? { mark } : {}),
  };
}

function names(entry: ConntrackFact, wanted: ReadonlySet<string>): boolean {
  for (const a of [entry.original.src, entry.original.dst, entry.reply.src, entry.reply.dst]) {
    const ip = tryParseIP(a);
    if (ip !== undefined && wanted.has(formatIP(ip))) return true;
  }
  return false;
}

/**
 * Entries whose original or reply tuple names one of `addresses` (at most `limit`, default 500),
 * from one `conntrack -L` per address family asked for, filtered here.
 */
export async function listConntrack(
  filter: { readonly addresses: readonly string[]; readonly limit?: number },
  options: NetnsOption = {},
): Promise<ConntrackFact[]> {
  const limit = filter.limit ?? 500;
  const ips = filter.addresses.map(parseIP);
  if (ips.length === 0 || limit <= 0) return [];
  const wanted = new Set(ips.map(formatIP));
  const families = [...new Set(ips.map((ip) => ip.family))].sort();
  const listings = await Promise.all(
    families.map((f) => runRead(options, ["conntrack", "-L", "-f", f === 4 ? "ipv4" : "ipv6"])),
  );
  const out: ConntrackFact[] = [];
  for (const r of listings) {
    for (const line of r.stdout.split("\n")) {
      const entry = parseConntrackLine(line);
      if (entry === undefined || !names(entry, wanted)) continue;
      out.push(entry);
      if (out.length >= limit) return out;
    }
  }
  return out;
}

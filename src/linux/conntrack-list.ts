/**
 * Conntrack entries naming given addresses, from `conntrack -L` text (conntrack-tools 1.4.7 has no
 * JSON). The reply tuple is what makes NAT visible: a Service flow's reply comes from the endpoint
 * it was DNATed to, a masqueraded flow's reply goes to the node address it was rewritten to.
 */
import { formatIP, parseIP, tryParseIP } from "../ipnet/address.ts";
import type { ConntrackFact, ConntrackTuple } from "./kernel-facts.ts";
import { type NetnsOption, streamRead } from "./kernel-read.ts";

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

export interface ConntrackFilter {
  readonly addresses: readonly string[];
  /** At most this many entries (default 500). */
  readonly limit?: number;
  /** With `sourcePort`: this protocol's entries whose original source port is it (a probe's flow) come first. */
  readonly proto?: "tcp" | "udp";
  readonly sourcePort?: number;
  /** Stop reading one listing after this many bytes of output (default 16 MiB). */
  readonly maxBytes?: number;
}

export interface ConntrackListing {
  readonly entries: ConntrackFact[];
  /** What was cut ("conntrack: more than 64 entries, first 64 shown"). */
  readonly errors: string[];
}

/** Up to this many addresses are filtered in the kernel, one `-s` and one `-d` listing each. */
export const KERNEL_FILTERED_ADDRESSES = 8;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Pure: the `conntrack -L` argv lists that cover `filter`, filtered in the kernel where it can be:
 * a probe's own entries first, by protocol and original source port (one listing per family;
 * a fully-random masquerade gives the legs after it another port, so the addresses follow), a
 * handful of addresses by original source and destination (`-s`, `-d`; the reply tuple of a
 * NATed entry names its original's other end), and only beyond KERNEL_FILTERED_ADDRESSES the whole
 * table per family, streamed and cut at the limit. Addresses are validated (and canonical) first.
 */
export function conntrackQueries(filter: ConntrackFilter): string[][] {
  const ips = filter.addresses.map(parseIP);
  const families = [...new Set(ips.map((ip) => ip.family))].sort();
  const fam = (f: 4 | 6) => ["-f", f === 4 ? "ipv4" : "ipv6"];
  const byPort: string[][] = [];
  if (filter.sourcePort !== undefined) {
    if (!Number.isInteger(filter.sourcePort) || filter.sourcePort < 1 || filter.sourcePort > 65535)
      throw new RangeError(`conntrack filter: source port ${filter.sourcePort} is not a port (1-65535)`);
    if (filter.proto !== "tcp" && filter.proto !== "udp")
      throw new RangeError("conntrack filter: a source port needs the protocol tcp or udp");
    for (const f of families)
      byPort.push(["conntrack", "-L", ...fam(f), "-p", filter.proto, "--sport", String(filter.sourcePort)]);
  }
  if (ips.length <= KERNEL_FILTERED_ADDRESSES) {
    const unique = [...new Map(ips.map((ip) => [formatIP(ip), ip])).values()];
    return [
      ...byPort,
      ...unique.flatMap((ip) =>
        ["-s", "-d"].map((dir) => ["conntrack", "-L", ...fam(ip.family), dir, formatIP(ip)]),
      ),
    ];
  }
  return [...byPort, ...families.map((f) => ["conntrack", "-L", ...fam(f)])];
}

function entryKey(e: ConntrackFact): string {
  return JSON.stringify([e.proto, e.original, e.reply]);
}

/**
 * Entries whose original or reply tuple names one of `addresses` (at most `limit`), read with the
 * kernel-side filters of conntrackQueries and streamed: the agent never holds a whole busy table,
 * and stops reading at the limit. What was cut is said in `errors`.
 */
export async function listConntrack(
  filter: ConntrackFilter,
  options: NetnsOption = {},
): Promise<ConntrackListing> {
  const limit = filter.limit ?? 500;
  const queries = conntrackQueries(filter);
  if (queries.length === 0 || limit <= 0) return { entries: [], errors: [] };
  const wanted = new Set(filter.addresses.map((a) => formatIP(parseIP(a))));
  const maxBytes = filter.maxBytes ?? DEFAULT_MAX_BYTES;
  const seen = new Set<string>();
  const entries: ConntrackFact[] = [];
  const errors: string[] = [];
  let more = false;
  for (const argv of queries) {
    const r = await streamRead(
      options,
      argv,
      (line) => {
        const entry = parseConntrackLine(line);
        if (entry === undefined || !names(entry, wanted)) return true;
        const key = entryKey(entry);
        if (seen.has(key)) return true;
        if (entries.length >= limit) {
          more = true;
          return false;
        }
        seen.add(key);
        entries.push(entry);
        return true;
      },
      { maxBytes },
    );
    if (r.stopped === "bytes")
      errors.push(
        `conntrack: "${argv.join(" ")}" cut after ${r.bytes} bytes of output; entries past it not read`,
      );
    if (more) break;
  }
  if (more) errors.push(`conntrack: more than ${limit} entries, first ${limit} shown`);
  return { entries, errors };
}

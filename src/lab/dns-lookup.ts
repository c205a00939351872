/**
 * What one DNS question got, as `podnet lab dns-query` prints it inside a pod and lab check reads
 * it back (pure): the rcode, the AA bit and the answers with their data as text. The child's
 * output is an external input, so it is validated field by field.
 */
import type { Answer, DecodedPacket } from "dns-packet";

export const QUERY_TYPES = ["A", "AAAA", "SRV", "PTR", "TXT"] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

export interface DnsRecord {
  readonly name: string;
  readonly type: string;
  /** A/AAAA/PTR: the address or name; SRV: "PRIORITY WEIGHT PORT TARGET"; TXT: the strings joined. */
  readonly data: string;
}

export interface DnsLookup {
  readonly server: string;
  readonly name: string;
  readonly type: QueryType;
  readonly rcode: string;
  readonly authoritative: boolean;
  readonly answers: readonly DnsRecord[];
}

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

export class DnsLookupError extends Error {
  override readonly name = "DnsLookupError";
}

export function parseQueryType(text: string): QueryType {
  const upper = text.toUpperCase();
  if (!(QUERY_TYPES as readonly string[]).includes(upper))
    throw new DnsLookupError(`query type "${text}" must be one of ${QUERY_TYPES.join(", ")}`);
  return upper as QueryType;
}

function dataText(a: Answer): string {
  const data: unknown = (a as { data?: unknown }).data;
  if (a.type === "SRV") {
    const s = data as { priority: number; weight: number; port: number; target: string };
    return `${s.priority} ${s.weight} ${s.port} ${s.target}`;
  }
  if (a.type === "TXT") {
    const parts = Array.isArray(data) ? data : [data];
    return parts.map((p) => (Buffer.isBuffer(p) ? p.toString("utf8") : String(p))).join("");
  }
  return typeof data === "string" ? data : JSON.stringify(data);
}

/** A decoded reply → the lookup (answers of the types this client asks for; others left out). */
export function lookupOf(server: string, name: string, type: QueryType, reply: DecodedPacket): DnsLookup {
  const rcode = (reply.flags ?? 0) & 0xf;
  return {
    server,
    name,
    type,
    rcode: RCODES[rcode] ?? `RCODE${rcode}`,
    authoritative: reply.flag_aa === true,
    answers: (reply.answers ?? [])
      .filter((a) => (QUERY_TYPES as readonly string[]).includes(a.type))
      .map((a) => ({ name: a.name, type: a.type, data: dataText(a) })),
  };
}

/** The JSON line the child printed → the lookup, or an error naming what is wrong. */
export function parseDnsLookup(text: string): DnsLookup {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new DnsLookupError(`dns-query printed no JSON: ${text.slice(0, 200)}`);
  }
  const o = v as Record<string, unknown>;
  const str = (k: string) => {
    if (typeof o[k] !== "string") throw new DnsLookupError(`dns-query output has no string "${k}"`);
    return o[k] as string;
  };
  if (typeof v !== "object" || v === null) throw new DnsLookupError("dns-query output is not an object");
  if (typeof o.authoritative !== "boolean" || !Array.isArray(o.answers))
    throw new DnsLookupError("dns-query output lacks authoritative or answers");
  const answers = (o.answers as unknown[]).map((a) => {
    const r = a as Record<string, unknown>;
    if (typeof r.name !== "string" || typeof r.type !== "string" || typeof r.data !== "string")
      throw new DnsLookupError("dns-query output has an answer without name, type and data");
    return { name: r.name, type: r.type, data: r.data };
  });
  return {
    server: str("server"),
    name: str("name"),
    type: parseQueryType(str("type")),
    rcode: str("rcode"),
    authoritative: o.authoritative,
    answers,
  };
}

/** The data of the answers of the asked type, sorted (what most claims compare). */
export function answerData(lookup: DnsLookup): string[] {
  return lookup.answers
    .filter((a) => a.type === lookup.type)
    .map((a) => a.data)
    .sort();
}

export function formatLookup(l: DnsLookup): string {
  const data = answerData(l);
  return `${l.name} ${l.type} → ${l.rcode}${l.authoritative ? " aa" : ""}${data.length ? ` ${data.join(", ")}` : ""}`;
}

/**
 * One query, answered from the cluster zone or handed on for forwarding (pure). The order of the
 * checks follows what a client can be told: nothing when not even the header is readable (or the
 * message is itself a response: answering those invites loops), FORMERR when the header is but the
 * rest is not, NOTIMP for an opcode other than QUERY, FORMERR for a count of questions other than
 * one, then the answer. Names of the cluster domain and of the reverse zones of the cluster's CIDRs
 * are answered here with AA — NXDOMAIN or NODATA with the zone's SOA — and never forwarded, so
 * the ndots:5 search expansions of outside names get a fast local NXDOMAIN.
 */
import type { Answer, Question } from "dns-packet";
import { unhandled } from "../base/unhandled.ts";
import type { ClusterZone } from "./cluster-zone.ts";
import {
  BADVERS,
  type Edns,
  ednsOf,
  encodeReply,
  RCODE,
  readHeader,
  replyLimit,
  tryDecode,
} from "./dns-message.ts";
import { lookupKey, nameProblem } from "./dns-name.ts";
import type { ZoneRecord } from "./zone-records.ts";

export type Transport = "udp" | "tcp";

/** A query that is not the cluster's: what the forwarder needs to ask upstream and reply. */
export interface ForwardRequest {
  readonly id: number;
  /** The question as the client wrote it (case kept: the reply echoes it). */
  readonly question: Question;
  readonly recursionDesired: boolean;
  readonly edns: Edns | undefined;
  readonly limit: number;
}

export type QueryOutcome =
  | { readonly kind: "drop"; readonly reason: string }
  | { readonly kind: "reply"; readonly message: Buffer; readonly rcode: number; readonly local: boolean }
  | { readonly kind: "forward"; readonly request: ForwardRequest };

export interface AnswerOptions {
  readonly transport: Transport;
  /** Whether outside names are forwarded (RA is set); without upstreams they are REFUSED. */
  readonly recursion: boolean;
}

const OPCODE_QUERY = 0;

export function answerQuery(message: Buffer, zone: ClusterZone, options: AnswerOptions): QueryOutcome {
  const header = readHeader(message);
  if (header === undefined) return { kind: "drop", reason: "shorter than a DNS header" };
  if (header.isResponse) return { kind: "drop", reason: "a response, not a query" };
  const base = {
    id: header.id,
    opcode: header.opcode,
    recursionDesired: header.recursionDesired,
    recursionAvailable: options.recursion,
    authoritative: false,
  };
  const error = (rcode: number, questions: Question[] = []): QueryOutcome => ({
    kind: "reply",
    message: encodeReply({ ...base, rcode, questions }, replyLimit(options.transport, undefined)),
    rcode,
    local: true,
  });

  const packet = tryDecode(message);
  if (typeof packet === "string") return error(RCODE.FORMERR);
  if (header.opcode !== OPCODE_QUERY) return error(RCODE.NOTIMP);
  const questions = packet.questions ?? [];
  const [question] = questions;
  if (questions.length !== 1 || question === undefined) return error(RCODE.FORMERR);
  // A name dns-packet cannot write back as it read it is not echoed (the reply would be corrupt).
  if (nameProblem(question.name) !== undefined) return error(RCODE.REFUSED);
  const edns = ednsOf(packet);
  if (edns === "several") return error(RCODE.FORMERR, [question]);
  const limit = replyLimit(options.transport, edns);
  if (edns !== undefined && edns.version !== 0) {
    const message = encodeReply({ ...base, rcode: BADVERS, questions: [question], edns }, limit);
    return { kind: "reply", message, rcode: BADVERS, local: true };
  }

  const key = lookupKey(question.name);
  const apex = zone.apexOf(key);
  if (apex === undefined) {
    if (!options.recursion) return error(RCODE.REFUSED, [question]);
    return {
      kind: "forward",
      request: { id: header.id, question, recursionDesired: header.recursionDesired, edns, limit },
    };
  }
  const rcodeAndSections = zoneAnswer(zone, apex, key, question);
  return {
    kind: "reply",
    message: encodeReply(
      { ...base, ...rcodeAndSections, authoritative: true, questions: [question], edns },
      limit,
    ),
    rcode: rcodeAndSections.rcode,
    local: true,
  };
}

interface Sections {
  readonly rcode: number;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly additionals: Answer[];
}

function zoneAnswer(zone: ClusterZone, apex: string, key: string, question: Question): Sections {
  const negative = (rcode: number): Sections => {
    const soa = zone.soa(apex);
    return {
      rcode,
      answers: [],
      authorities: [{ type: "SOA", name: soa.name, ttl: zone.negativeTtl, class: "IN", data: soa.data }],
      additionals: [],
    };
  };
  // Only class IN (and QCLASS ANY) has data here; CHAOS and friends are not this zone's.
  const qclass = question.class ?? "IN";
  if (qclass !== "IN" && qclass !== "ANY") return { ...negative(RCODE.REFUSED), authorities: [] };
  const found = zone.lookup(key);
  if (found.kind === "nxdomain") return negative(RCODE.NXDOMAIN);
  const qtype: string = question.type;
  const matching = found.records.filter((r) => qtype === "ANY" || r.type === qtype);
  if (matching.length === 0) return negative(RCODE.NOERROR);
  const answers = matching.map((r) => toAnswer(question.name, r, zone.ttl));
  return { rcode: RCODE.NOERROR, answers, authorities: [], additionals: srvAdditionals(zone, matching) };
}

/** The A/AAAA of SRV targets in this zone (RFC 2782: the additional section may carry them). */
function srvAdditionals(zone: ClusterZone, records: readonly ZoneRecord[]): Answer[] {
  const extra: Answer[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    if (r.type !== "SRV" || seen.has(r.data.target)) continue;
    seen.add(r.data.target);
    const target = zone.lookup(lookupKey(r.data.target));
    if (target.kind === "nxdomain") continue;
    for (const t of target.records)
      if (t.type === "A" || t.type === "AAAA") extra.push(toAnswer(r.data.target, t, zone.ttl));
  }
  return extra;
}

function toAnswer(name: string, r: ZoneRecord, ttl: number): Answer {
  const base = { name, ttl, class: "IN" as const };
  switch (r.type) {
    case "A":
    case "AAAA":
    case "PTR":
      return { ...base, type: r.type, data: r.data };
    case "TXT":
      return { ...base, type: "TXT", data: r.data };
    case "SRV":
      return { ...base, type: "SRV", data: r.data };
    case "SOA":
      return { ...base, type: "SOA", data: r.data };
    default:
      return unhandled(r);
  }
}

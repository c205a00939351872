/**
 * Upstream resolvers and the checks on their replies (pure). RFC 5452: a reply is accepted only
 * from the address and port asked, with the query's random ID and the same question (names
 * compared without case, as a 0x20-mixing resolver's upstream may not preserve it).
 */
import type { DecodedPacket, Question } from "dns-packet";
import * as dnsPacket from "dns-packet";
import { type Family, formatIP, parseIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { UDP_MAX } from "./dns-message.ts";
import { lookupKey } from "./dns-name.ts";

export interface Upstream {
  readonly host: string;
  readonly family: Family;
  readonly port: number;
}

export class UpstreamParseError extends Error {
  override readonly name = "UpstreamParseError";
  constructor(input: string, reason: string) {
    super(`Invalid DNS upstream "${input}": ${reason}`);
  }
}

/** "10.0.0.2", "10.0.0.2:5353", "fd00::53", "[fd00::53]:5353" (port 53 by default). */
export function parseUpstream(text: string): Upstream {
  let host = text;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4port = /^([0-9.]+):(\d+)$/.exec(text);
  if (bracket !== null) {
    host = bracket[1] as string;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (v4port !== null) {
    host = v4port[1] as string;
    port = Number(v4port[2]);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UpstreamParseError(text, "port out of range");
  try {
    const ip = parseIP(host);
    return { host: formatIP(ip), family: ip.family, port };
  } catch (e) {
    throw new UpstreamParseError(text, e instanceof Error ? e.message : String(e));
  }
}

export function formatUpstream(u: Upstream): string {
  return hostPort(u.host, u.port);
}

/** The query sent upstream: the client's question, a fresh ID, RD, and EDNS0 with our size. */
export function upstreamQuery(question: Question, id: number, dnssecOk: boolean): Buffer {
  return dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: question.name, type: question.type, class: question.class ?? "IN" }],
    additionals: [
      {
        type: "OPT",
        name: ".",
        udpPayloadSize: UDP_MAX,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0,
        flag_do: dnssecOk,
        options: [],
      },
    ],
  });
}

/** Whether a decoded reply answers the query with this ID and question (RFC 5452 §4.1–4.3). */
export function replyMatches(reply: DecodedPacket, id: number, question: Question): boolean {
  if (reply.type !== "response" || reply.id !== id) return false;
  const [q] = reply.questions ?? [];
  if (q === undefined || (reply.questions?.length ?? 0) !== 1) return false;
  return (
    lookupKey(q.name) === lookupKey(question.name) &&
    q.type === question.type &&
    (q.class ?? "IN") === (question.class ?? "IN")
  );
}

/**
 * What every DNS answer of this server shares (pure): the raw header of a query (readable even
 * when the rest is not), EDNS0 (RFC 6891) and the size a reply may have, and encoding within that
 * size (RFC 2181 §9: rather TC and no answer than a partial RRset). dns-packet never compresses
 * names, so sizes are what `encodingLength` says, not what a compressing server would send.
 */
import type { Answer, DecodedPacket, OptAnswer, Packet } from "dns-packet";
import * as dnsPacket from "dns-packet";

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];
/** RFC 6891 §9: an extended rcode (16) split into the OPT's upper 8 bits and the header's lower 4. */
export const BADVERS = 16;

/** Classic DNS over UDP (RFC 1035 §4.2.1). */
export const UDP_CLASSIC = 512;
/** The DNS flag day 2020 value: no IP fragmentation on any common path. */
export const UDP_MAX = 1232;
export const TCP_MAX = 65535;

const QR = 1 << 15;
const OPCODE_SHIFT = 11;

export interface RawHeader {
  readonly id: number;
  readonly isResponse: boolean;
  readonly opcode: number;
  readonly recursionDesired: boolean;
}

/** The 12-byte header, or undefined when the message is shorter. */
export function readHeader(message: Buffer): RawHeader | undefined {
  if (message.length < 12) return undefined;
  const flags = message.readUInt16BE(2);
  return {
    id: message.readUInt16BE(0),
    isResponse: (flags & QR) !== 0,
    opcode: (flags >> OPCODE_SHIFT) & 0xf,
    recursionDesired: (flags & dnsPacket.RECURSION_DESIRED) !== 0,
  };
}

/** A decoded message with the fields dns-packet sets and its types leave out. */
export interface DecodedMessage extends DecodedPacket {
  /** "NOERROR", "NXDOMAIN", … (the header's 4 bits). */
  readonly rcode: string;
  /** "QUERY", "STATUS", … */
  readonly opcode: string;
}

/** Decodes a message; throws what dns-packet throws (several kinds) for one that is not DNS. */
export function decodeMessage(message: Buffer): DecodedMessage {
  return dnsPacket.decode(message) as DecodedMessage;
}

/** Decodes a message, or returns the reason it cannot be. */
export function tryDecode(message: Buffer): DecodedMessage | string {
  try {
    return decodeMessage(message);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export interface Edns {
  readonly udpPayloadSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
}

/** The query's EDNS0, undefined without an OPT, "several" when it has more than one (FORMERR). */
export function ednsOf(packet: Packet): Edns | undefined | "several" {
  const opts = (packet.additionals ?? []).filter((a): a is OptAnswer => a.type === "OPT");
  const [opt] = opts;
  if (opts.length > 1) return "several";
  if (opt === undefined) return undefined;
  return {
    udpPayloadSize: opt.udpPayloadSize,
    version: opt.ednsVersion,
    dnssecOk: (opt.flags & dnsPacket.DNSSEC_OK) !== 0,
  };
}

/** The largest reply the client takes: 512 without EDNS, min(its size, 1232) with, 64 KiB on TCP. */
export function replyLimit(transport: "udp" | "tcp", edns: Edns | undefined): number {
  if (transport === "tcp") return TCP_MAX;
  if (edns === undefined) return UDP_CLASSIC;
  return Math.min(Math.max(edns.udpPayloadSize, UDP_CLASSIC), UDP_MAX);
}

/** The OPT a reply carries when the query had one (RFC 6891 §7). */
export function replyOpt(edns: Edns, extendedRcode = 0): OptAnswer {
  return {
    type: "OPT",
    name: ".",
    udpPayloadSize: UDP_MAX,
    extendedRcode: extendedRcode >> 4,
    ednsVersion: 0,
    // RFC 3225 §3: the DO bit is copied into the reply.
    flags: edns.dnssecOk ? dnsPacket.DNSSEC_OK : 0,
    flag_do: edns.dnssecOk,
    options: [],
  };
}

export interface ReplyParts {
  readonly id: number;
  readonly opcode?: number;
  readonly rcode: number;
  readonly authoritative: boolean;
  readonly recursionDesired: boolean;
  readonly recursionAvailable: boolean;
  readonly questions: Packet["questions"];
  readonly answers?: Answer[];
  readonly authorities?: Answer[];
  /** Additional data other than the OPT; dropped first when the reply is too large. */
  readonly additionals?: Answer[];
  readonly edns?: Edns | undefined;
}

/**
 * Encodes a reply within `limit` bytes: without the additional data when that is what does not
 * fit (RFC 2181 §9 allows it), else with TC and empty answer and authority sections, so the
 * client retries over TCP.
 */
export function encodeReply(parts: ReplyParts, limit: number): Buffer {
  let flags =
    (parts.rcode & 0xf) |
    ((parts.opcode ?? 0) << OPCODE_SHIFT) |
    (parts.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    (parts.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0) |
    (parts.recursionAvailable ? dnsPacket.RECURSION_AVAILABLE : 0);
  const opt = parts.edns === undefined ? [] : [replyOpt(parts.edns, parts.rcode)];
  const packet: Packet = {
    type: "response",
    id: parts.id,
    flags,
    questions: parts.questions ?? [],
    answers: parts.answers ?? [],
    authorities: parts.authorities ?? [],
    additionals: [...(parts.additionals ?? []), ...opt],
  };
  if (dnsPacket.encodingLength(packet) <= limit) return dnsPacket.encode(packet);
  packet.additionals = opt;
  if (dnsPacket.encodingLength(packet) <= limit) return dnsPacket.encode(packet);
  flags |= dnsPacket.TRUNCATED_RESPONSE;
  return dnsPacket.encode({ ...packet, flags, answers: [], authorities: [] });
}

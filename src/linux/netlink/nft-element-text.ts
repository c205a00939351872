/**
 * Element text to bytes, one field at a time (pure): IPv4 and IPv6 addresses, protocols, ports and
 * 32-bit numbers as podnet renders them inside nft's `elements = { … }`, written straight into the
 * message buffer. A second address parser beside src/ipnet/address.ts on purpose: this one reads a
 * slice of a larger string without allocating, at 100,000+ elements per full sync, and its bytes
 * are checked against that parser's (nft-element-text.test.ts). Where it differs it is stricter:
 * nothing but the address itself (no surrounding space, zone or brackets) is taken.
 */
import { HOST_LITTLE_ENDIAN } from "./nft-attr-writer.ts";

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const DOT = 46;
const COLON = 58;

function isDigit(c: number): boolean {
  return c >= DIGIT_0 && c <= DIGIT_9;
}

/** A decimal number ≤ max without sign or leading zeros, or -1. */
function decimal(text: string, from: number, to: number, max: number): number {
  if (from >= to || to - from > 10) return -1;
  if (text.charCodeAt(from) === DIGIT_0 && to - from > 1) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - DIGIT_0);
  }
  return n <= max ? n : -1;
}

/** Dotted quad as inet_pton(AF_INET) takes it: four decimal octets, no leading zeros. */
export function writeIpv4(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let octets = 0;
  let v = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || octets === 3) return false;
      out[at + octets++] = v;
      v = 0;
      digits = 0;
    } else {
      if (c < DIGIT_0 || c > DIGIT_9 || (digits > 0 && v === 0)) return false;
      v = v * 10 + (c - DIGIT_0);
      if (v > 255) return false;
      digits++;
    }
  }
  if (digits === 0 || octets !== 3) return false;
  out[at + 3] = v;
  return true;
}

const groups = new Uint16Array(8);

function hexDigit(c: number): number {
  if (isDigit(c)) return c - DIGIT_0;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** RFC 4291 section 2.2 text: up to eight hex groups, one `::`, optionally a dotted-quad tail. */
export function writeIpv6(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let count = 0;
  let gap = -1;
  let i = from;
  if (to - from >= 2 && text.charCodeAt(i) === COLON && text.charCodeAt(i + 1) === COLON) {
    gap = 0;
    i += 2;
  }
  let tail4 = false;
  while (i < to) {
    const start = i;
    let v = 0;
    while (i < to && i - start < 5) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      v = v * 16 + d;
      i++;
    }
    if (i < to && text.charCodeAt(i) === DOT) {
      // An embedded IPv4 address ends the text and fills the last two groups.
      if (count > 6 || !writeIpv4(text, start, to, out, at + 12)) return false;
      tail4 = true;
      break;
    }
    if (i === start || i - start > 4 || count === 8) return false;
    groups[count++] = v;
    if (i === to) break;
    if (text.charCodeAt(i) !== COLON) return false;
    i++;
    if (i < to && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    } else if (i === to) return false;
  }
  const total = count + (tail4 ? 2 : 0);
  if (gap < 0 ? total !== 8 : total > 7) return false;
  const head = tail4 ? 6 : 8;
  const after = gap < 0 ? 0 : count - gap;
  for (let g = 0; g < head; g++) {
    let v = 0;
    if (gap < 0 || g < gap) v = groups[g] as number;
    else if (g >= head - after) v = groups[count - (head - g)] as number;
    out[at + 2 * g] = v >> 8;
    out[at + 2 * g + 1] = v & 0xff;
  }
  return true;
}

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };

/** Writers by FieldType.kind; a switch rather than closures keeps the per-element path monomorphic. */
export const IPV4 = 0;
export const IPV6 = 1;
export const PROTO = 2;
export const SERVICE = 3;
export const U32 = 4;

export function writeField(
  kind: number,
  text: string,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): boolean {
  switch (kind) {
    case IPV4:
      return writeIpv4(text, from, to, out, at);
    case IPV6:
      return writeIpv6(text, from, to, out, at);
    case PROTO: {
      const v = isDigit(text.charCodeAt(from))
        ? decimal(text, from, to, 255)
        : (PROTOCOLS[text.slice(from, to)] ?? -1);
      out[at] = v;
      return v >= 0;
    }
    case SERVICE: {
      const v = decimal(text, from, to, 65535);
      out[at] = v >> 8;
      out[at + 1] = v & 0xff;
      return v >= 0;
    }
    default: {
      const v = decimal(text, from, to, 0xffffffff);
      if (HOST_LITTLE_ENDIAN) {
        out[at] = v & 0xff;
        out[at + 1] = (v >>> 8) & 0xff;
        out[at + 2] = (v >>> 16) & 0xff;
        out[at + 3] = v >>> 24;
      } else {
        out[at] = v >>> 24;
        out[at + 1] = (v >>> 16) & 0xff;
        out[at + 2] = (v >>> 8) & 0xff;
        out[at + 3] = v & 0xff;
      }
      return v >= 0;
    }
  }
}

/** What each kind of field must be, for error messages. */
export const FIELD_WHAT: readonly string[] = [
  "an IPv4 address",
  "an IPv6 address",
  "a protocol (tcp, udp, sctp, icmp, icmpv6 or 0-255)",
  "a port (0-65535)",
  "a 32-bit unsigned number",
];

/**
 * How the elements of an nftables set or map are laid out in the kernel (pure): from a declaration
 * as nft text (`type ipv4_addr . inet_proto . inet_service : verdict`, `typeof ip daddr . tcp dport
 * . numgen random mod 1 : ip daddr . tcp dport`) to the fields of its key and data, and from an
 * element as podnet renders it to the bytes nft itself would send. This lets set elements go to
 * the kernel over netlink without `nft -f` parsing them, which dominates a large full sync.
 *
 * Only what podnet's sets use is known here; anything else (interval sets whose elements are
 * ranges, timeout sets, other types) gives `undefined`, and the caller leaves those elements to nft.
 * Byte layout as in nft's datatypes and the kernel's registers: addresses and ports in network
 * order, numgen's value a host-order u32, and in a concatenation every field padded to whole
 * 32-bit registers (NFT_REG32_SIZE), a lone field not padded (the set's key length is exact).
 */
import { NFT_REG32_SIZE } from "./nft-constants.ts";

/** One field type: nft's name for it and its size in the kernel. */
export interface FieldType {
  readonly name: string;
  readonly size: number;
  /** Which writer turns its text into bytes. */
  readonly kind: number;
}

export interface ElementField {
  readonly type: FieldType;
  /** Bytes the field takes in the value: its size, padded to 4 inside a concatenation. */
  readonly width: number;
}

export interface ElementLayout {
  readonly key: readonly ElementField[];
  readonly keyLength: number;
  /** A set has no data; a verdict map's data is a verdict; other maps have value fields. */
  readonly data: { readonly kind: "none" } | { readonly kind: "verdict" } | ValueData;
}

interface ValueData {
  readonly kind: "value";
  readonly fields: readonly ElementField[];
  readonly length: number;
}

export interface SetDeclaration {
  /** The key (and for a map the data) as declared: `type` names datatypes, `typeof` expressions. */
  readonly type: string;
  readonly data?: string;
  readonly typeOf?: boolean;
  readonly flags: readonly string[];
}

/** NFT_DATA_VALUE_MAXLEN: a key or data value is at most 64 bytes. */
const MAX_VALUE_LENGTH = 64;

/** An element text that is no element of its set; thrown before anything reaches the kernel. */
export class ElementSyntaxError extends Error {
  override readonly name = "ElementSyntaxError";
  constructor(
    /** The set as `NAME of FAMILY TABLE`. */
    readonly set: string,
    readonly element: string,
    readonly reason: string,
  ) {
    super(`Cannot load element "${element}" of set ${set}: ${reason}`);
  }
}

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
function writeIpv4(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
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
function writeIpv6(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
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

const hostIsLittleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Writers by FieldType.kind; a switch rather than closures keeps the per-element path monomorphic. */
const IPV4 = 0;
const IPV6 = 1;
const PROTO = 2;
const SERVICE = 3;
const U32 = 4;

function writeField(
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
      if (hostIsLittleEndian) {
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

const WHAT: readonly string[] = [
  "an IPv4 address",
  "an IPv6 address",
  "a protocol (tcp, udp, sctp, icmp, icmpv6 or 0-255)",
  "a port (0-65535)",
  "a 32-bit unsigned number",
];

export const FIELD_TYPES = {
  ipv4_addr: { name: "ipv4_addr", size: 4, kind: IPV4 },
  ipv6_addr: { name: "ipv6_addr", size: 16, kind: IPV6 },
  inet_proto: { name: "inet_proto", size: 1, kind: PROTO },
  inet_service: { name: "inet_service", size: 2, kind: SERVICE },
  /** numgen's result: an integer register compared in host byte order. */
  u32: { name: "integer", size: 4, kind: U32 },
} as const satisfies Record<string, FieldType>;

/** `typeof` expressions podnet declares sets with, by the datatype nft gives them. */
const EXPRESSIONS: Readonly<Record<string, FieldType>> = {
  "ip daddr": FIELD_TYPES.ipv4_addr,
  "ip saddr": FIELD_TYPES.ipv4_addr,
  "ip6 daddr": FIELD_TYPES.ipv6_addr,
  "ip6 saddr": FIELD_TYPES.ipv6_addr,
  "tcp dport": FIELD_TYPES.inet_service,
  "udp dport": FIELD_TYPES.inet_service,
  "sctp dport": FIELD_TYPES.inet_service,
  "th dport": FIELD_TYPES.inet_service,
  "meta l4proto": FIELD_TYPES.inet_proto,
};

const NUMGEN = /^numgen (random|inc) mod [1-9][0-9]{0,9}$/;

function fieldOf(word: string, typeOf: boolean): FieldType | undefined {
  if (!typeOf) return word in FIELD_TYPES && word !== "u32" ? FIELD_TYPES[word as "ipv4_addr"] : undefined;
  if (NUMGEN.test(word)) return FIELD_TYPES.u32;
  return EXPRESSIONS[word];
}

function fieldsOf(
  text: string,
  typeOf: boolean,
): { fields: readonly ElementField[]; length: number } | undefined {
  const words = text
    .trim()
    .split(/\s+\.\s+/)
    .map((w) => w.replace(/\s+/g, " "));
  const types: FieldType[] = [];
  for (const w of words) {
    const t = fieldOf(w, typeOf);
    if (!t) return undefined;
    types.push(t);
  }
  const concat = types.length > 1;
  const fields = types.map((type) => ({
    type,
    width: concat ? Math.ceil(type.size / NFT_REG32_SIZE) * NFT_REG32_SIZE : type.size,
  }));
  const length = fields.reduce((n, f) => n + f.width, 0);
  return length <= MAX_VALUE_LENGTH ? { fields, length } : undefined;
}

/**
 * The element layout of a set or map declared so, or undefined when its elements must stay nft
 * text: any flag (interval sets hold ranges, dynamic/timeout sets expire), or a type not known here.
 */
export function elementLayout(decl: SetDeclaration): ElementLayout | undefined {
  if (decl.flags.length > 0) return undefined;
  const typeOf = decl.typeOf === true;
  const key = fieldsOf(decl.type, typeOf);
  if (!key) return undefined;
  if (decl.data === undefined) return { key: key.fields, keyLength: key.length, data: { kind: "none" } };
  if (decl.data.trim() === "verdict")
    return { key: key.fields, keyLength: key.length, data: { kind: "verdict" } };
  const data = fieldsOf(decl.data, typeOf);
  if (!data) return undefined;
  return {
    key: key.fields,
    keyLength: key.length,
    data: { kind: "value", fields: data.fields, length: data.length },
  };
}

const SPACE = 32;

/**
 * Writes the value text[from, to) — fields joined by " . " — at out[at, at + length of fields),
 * whose padding the caller has zeroed; returns why it is not such a value, or undefined.
 */
export function writeValue(
  fields: readonly ElementField[],
  text: string,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): string | undefined {
  let start = from;
  let p = at;
  const last = fields.length - 1;
  for (let f = 0; f <= last; f++) {
    let end = to;
    if (f < last) {
      end = text.indexOf(" . ", start);
      if (end < 0 || end >= to) return fieldCount(fields);
    }
    let s = start;
    while (s < end && text.charCodeAt(s) === SPACE) s++;
    while (end > s && text.charCodeAt(end - 1) === SPACE) end--;
    const field = fields[f] as ElementField;
    if (!writeField(field.type.kind, text, s, end, out, p)) {
      const more = text.indexOf(" . ", s);
      if (f === last && more >= 0 && more < to) return fieldCount(fields);
      return `"${text.slice(s, end)}" is not ${WHAT[field.type.kind]}`;
    }
    p += field.width;
    start = end + 3;
  }
  return undefined;
}

function fieldCount(fields: readonly ElementField[]): string {
  return `${fields.length} field${fields.length === 1 ? "" : "s"} expected (${fields.map((x) => x.type.name).join(" . ")})`;
}

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
import { FIELD_WHAT, IPV4, IPV6, PROTO, SERVICE, U32, writeField } from "./nft-element-text.ts";

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
      return `"${text.slice(s, end)}" is not ${FIELD_WHAT[field.type.kind]}`;
    }
    p += field.width;
    start = end + 3;
  }
  return undefined;
}

function fieldCount(fields: readonly ElementField[]): string {
  return `${fields.length} field${fields.length === 1 ? "" : "s"} expected (${fields.map((x) => x.type.name).join(" . ")})`;
}

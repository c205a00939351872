/**
 * Domain names as the DNS server handles them (pure): checked before they are encoded (dns-packet
 * writes a label of 64 bytes with a corrupt length byte, and decodes bytes outside ASCII into
 * U+FFFD, which re-encodes longer), compared lowercased (RFC 4343) while answers echo the name as
 * the client wrote it, and the reverse names of addresses (RFC 1035 §3.5, RFC 3596 §2.5).
 */
import { type Family, formatIP, type IPAddress, ipFromBigint } from "../ipnet/address.ts";
import { type IPPrefix, prefixFromIP } from "../ipnet/prefix.ts";

export class DnsNameError extends Error {
  override readonly name = "DnsNameError";
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`Invalid DNS name "${input}": ${reason}`);
  }
}

// Named, not inline: the import-graph check reads `export function … "."` as an import of ".".
const DOT = ".";

/** RFC 1035 §2.3.4: 63 bytes a label, 255 on the wire, so 253 characters without the root dot. */
export const MAX_LABEL = 63;
export const MAX_NAME = 253;

/** The reason a name cannot be encoded faithfully, or undefined when it can. "." is the root. */
export function nameProblem(name: string): string | undefined {
  const body = stripDot(name);
  if (body === "") return undefined;
  if (body.length > MAX_NAME) return `longer than ${MAX_NAME} characters`;
  // Printable ASCII without space: what a decoded label can hold and be written back unchanged.
  if (!/^[\x21-\x7e]+$/.test(body)) return "holds a byte outside printable ASCII";
  for (const label of body.split(DOT)) {
    if (label === "") return "has an empty label";
    if (label.length > MAX_LABEL) return `label "${label.slice(0, 20)}…" is longer than ${MAX_LABEL} bytes`;
  }
  return undefined;
}

export function checkName(name: string): string {
  const problem = nameProblem(name);
  if (problem !== undefined) throw new DnsNameError(name, problem);
  return name;
}

function stripDot(name: string): string {
  return name.endsWith(DOT) ? name.slice(0, -1) : name;
}

/** The form names are looked up by: lowercase, no trailing dot, "" for the root. */
export function lookupKey(name: string): string {
  const body = stripDot(name);
  return body === DOT ? "" : body.toLowerCase();
}

/** Whether `name` (a lookup key) is `zone` or below it. */
export function isAtOrBelow(name: string, zone: string): boolean {
  return zone === "" || name === zone || name.endsWith(`.${zone}`);
}

/** The parent of a lookup key ("" above a top-level label, undefined above the root). */
export function parentOf(name: string): string | undefined {
  if (name === "") return undefined;
  const dot = name.indexOf(DOT);
  return dot < 0 ? "" : name.slice(dot + 1);
}

const V4_SUFFIX = "in-addr.arpa";
const V6_SUFFIX = "ip6.arpa";

/** The PTR owner of an address: d.c.b.a.in-addr.arpa, or 32 reversed nibbles under ip6.arpa. */
export function reverseName(ip: IPAddress): string {
  if (ip.family === 4) return `${formatIP(ip).split(DOT).reverse().join(DOT)}.${V4_SUFFIX}`;
  const hex = ip.value.toString(16).padStart(32, "0");
  return `${[...hex].reverse().join(DOT)}.${V6_SUFFIX}`;
}

/**
 * What a reverse name (a lookup key) covers: 10.in-addr.arpa is 10.0.0.0/8, a full name one
 * address (/32, /128). Undefined for names that are not reverse names or are malformed
 * (leading zeros, octets over 255, upper-case hex is fine since keys are lowercase).
 */
export function reversePrefix(name: string): IPPrefix | undefined {
  if (name.endsWith(`.${V4_SUFFIX}`)) {
    const labels = name.slice(0, -V4_SUFFIX.length - 1).split(DOT);
    if (labels.length > 4) return undefined;
    let value = 0n;
    for (const label of labels.reverse()) {
      if (!/^(0|[1-9][0-9]{0,2})$/.test(label) || Number(label) > 255) return undefined;
      value = (value << 8n) | BigInt(label);
    }
    return fromBits(4, value, labels.length * 8);
  }
  if (name.endsWith(`.${V6_SUFFIX}`)) {
    const labels = name.slice(0, -V6_SUFFIX.length - 1).split(DOT);
    if (labels.length > 32) return undefined;
    let value = 0n;
    for (const label of labels.reverse()) {
      if (!/^[0-9a-f]$/.test(label)) return undefined;
      value = (value << 4n) | BigInt(`0x${label}`);
    }
    return fromBits(6, value, labels.length * 4);
  }
  return undefined;
}

function fromBits(family: Family, value: bigint, bits: number): IPPrefix {
  const width = family === 4 ? 32 : 128;
  return prefixFromIP(ipFromBigint(family, value << BigInt(width - bits)), bits);
}

/** The reverse name of the smallest whole-label ancestor that holds `bits` leading bits of `ip`. */
export function reverseAncestor(ip: IPAddress, bits: number): string {
  const full = reverseName(ip).split(DOT);
  const per = ip.family === 4 ? 8 : 4;
  const labels = Math.ceil(bits / per);
  const total = ip.family === 4 ? 4 : 32;
  return full.slice(total - labels).join(DOT);
}

/** A pod address as a DNS label, as CoreDNS writes it: 10-244-1-5, fd00--5. */
export function dashedIP(ip: IPAddress): string {
  return formatIP(ip).replace(/[.:]/g, "-");
}

import { AddressParseError } from "./errors.ts";

export type Family = 4 | 6;

declare const ipBrand: unique symbol;

/** An IPv4 or IPv6 address; only created by the validating constructors in this module. */
export type IPAddress = { readonly family: Family; readonly value: bigint; readonly [ipBrand]: true };

const MAX_V4 = (1n << 32n) - 1n;
const MAX_V6 = (1n << 128n) - 1n;
// ::ffff:0:0/96 — IPv4-mapped IPv6 addresses, written with a dotted quad tail (RFC 5952 §5).
const V4_MAPPED_HIGH = 0xffffn;

export function bitLength(family: Family): 32 | 128 {
  return family === 4 ? 32 : 128;
}

export function maxValue(family: Family): bigint {
  return family === 4 ? MAX_V4 : MAX_V6;
}

function make(family: Family, value: bigint): IPAddress {
  return { family, value } as IPAddress;
}

export function ipFromBigint(family: Family, value: bigint): IPAddress {
  if (value < 0n || value > maxValue(family)) {
    throw new RangeError(`Value ${value} is out of range for an IPv${family} address`);
  }
  return make(family, value);
}

export function addToIP(ip: IPAddress, delta: bigint): IPAddress {
  const value = ip.value + delta;
  if (value < 0n || value > maxValue(ip.family)) {
    throw new RangeError(
      `Cannot add ${delta} to ${formatIP(ip)}: result is outside the IPv${ip.family} address space`,
    );
  }
  return make(ip.family, value);
}

export function compareIP(a: IPAddress, b: IPAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export function ipEquals(a: IPAddress, b: IPAddress): boolean {
  return a.family === b.family && a.value === b.value;
}

export function isIPv4Mapped(ip: IPAddress): boolean {
  return ip.family === 6 && ip.value >> 32n === V4_MAPPED_HIGH;
}

function parseV4(text: string, input: string): bigint {
  const parts = text.split(".");
  if (parts.length !== 4) {
    throw new AddressParseError(input, `expected 4 dot-separated octets, found ${parts.length}`);
  }
  let value = 0n;
  for (const part of parts) {
    if (part === "") throw new AddressParseError(input, "empty octet");
    if (!/^[0-9]+$/.test(part)) throw new AddressParseError(input, `octet "${part}" is not a decimal number`);
    // Leading zeros are rejected because some tools read them as octal (CVE-2021-29921).
    if (part.length > 1 && part.startsWith("0")) {
      throw new AddressParseError(input, `octet "${part}" has a leading zero`);
    }
    if (part.length > 3 || Number(part) > 255) throw new AddressParseError(input, "octet out of range");
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseGroups(text: string, input: string): number[] {
  if (text === "") return [];
  const groups: number[] = [];
  for (const part of text.split(":")) {
    if (part === "") throw new AddressParseError(input, "empty group");
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) {
      throw new AddressParseError(input, `group "${part}" is not 1 to 4 hexadecimal digits`);
    }
    groups.push(Number.parseInt(part, 16));
  }
  return groups;
}

function parseV6(text: string, input: string): bigint {
  let body = text;
  const lastColon = body.lastIndexOf(":");
  const last = body.slice(lastColon + 1);
  if (last.includes(".")) {
    // An embedded IPv4 tail (RFC 4291 §2.2 form 3) stands for the last two groups.
    const v4 = parseV4(last, input);
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const first = body.indexOf("::");
  if (first !== -1 && body.indexOf("::", first + 1) !== -1) {
    throw new AddressParseError(input, 'more than one "::"');
  }
  let groups: number[];
  if (first === -1) {
    groups = parseGroups(body, input);
    if (groups.length !== 8) throw new AddressParseError(input, `expected 8 groups, found ${groups.length}`);
  } else {
    const head = parseGroups(body.slice(0, first), input);
    const tail = parseGroups(body.slice(first + 2), input);
    const missing = 8 - head.length - tail.length;
    if (missing < 1) throw new AddressParseError(input, '"::" must stand for at least one zero group');
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

export function parseIP(text: string): IPAddress {
  if (text === "") throw new AddressParseError(text, "empty input");
  if (/\s/.test(text)) throw new AddressParseError(text, "contains whitespace");
  if (text.includes("%")) throw new AddressParseError(text, "zone identifiers are not supported");
  if (text.includes("[") || text.includes("]")) {
    throw new AddressParseError(text, "brackets are not part of an address");
  }
  if (text.includes(":")) return make(6, parseV6(text, text));
  if (text.includes(".")) return make(4, parseV4(text, text));
  throw new AddressParseError(text, "neither an IPv4 nor an IPv6 address");
}

export function tryParseIP(text: string): IPAddress | undefined {
  try {
    return parseIP(text);
  } catch (error) {
    if (error instanceof AddressParseError) return undefined;
    throw error;
  }
}

function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

function formatV6(value: bigint): string {
  if (value >> 32n === V4_MAPPED_HIGH) return `::ffff:${formatV4(value & MAX_V4)}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(":");
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

export function formatIP(ip: IPAddress): string {
  return ip.family === 4 ? formatV4(ip.value) : formatV6(ip.value);
}

/** The canonical text of an address (RFC 5952 for IPv6), or undefined when `text` is none. */
export function canonicalIP(text: string): string | undefined {
  const ip = tryParseIP(text);
  return ip === undefined ? undefined : formatIP(ip);
}

/** Whether two address texts name the same address (false when either is not one). */
export function sameIP(a: string, b: string): boolean {
  const ca = canonicalIP(a);
  return ca !== undefined && ca === canonicalIP(b);
}

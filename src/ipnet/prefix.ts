import {
  addToIP,
  bitLength,
  type Family,
  formatIP,
  type IPAddress,
  ipFromBigint,
  maxValue,
  parseIP,
} from "./address.ts";
import { AddressParseError } from "./errors.ts";

declare const prefixBrand: unique symbol;

/** A CIDR prefix whose network address has no host bits set. */
export type IPPrefix = {
  readonly family: Family;
  readonly network: IPAddress;
  readonly length: number;
  readonly [prefixBrand]: true;
};

function hostMask(family: Family, length: number): bigint {
  return (1n << BigInt(bitLength(family) - length)) - 1n;
}

function checkLength(family: Family, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > bitLength(family)) {
    throw new RangeError(`Prefix length ${length} is out of range for IPv${family} (0-${bitLength(family)})`);
  }
}

export function prefixFromIP(ip: IPAddress, length: number): IPPrefix {
  checkLength(ip.family, length);
  const network = ipFromBigint(ip.family, ip.value & ~hostMask(ip.family, length) & maxValue(ip.family));
  return { family: ip.family, network, length } as IPPrefix;
}

function splitCIDR(text: string, what: string): { ip: IPAddress; length: number } {
  const slash = text.indexOf("/");
  if (slash === -1) throw new AddressParseError(text, 'missing "/length"', what);
  const lengthText = text.slice(slash + 1);
  let ip: IPAddress;
  try {
    ip = parseIP(text.slice(0, slash));
  } catch (error) {
    if (error instanceof AddressParseError) throw new AddressParseError(text, error.reason, what);
    throw error;
  }
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText)) {
    throw new AddressParseError(text, `prefix length "${lengthText}" is not a decimal number`, what);
  }
  const length = Number(lengthText);
  if (length > bitLength(ip.family)) {
    throw new AddressParseError(
      text,
      `prefix length ${length} is out of range for IPv${ip.family} (0-${bitLength(ip.family)})`,
      what,
    );
  }
  return { ip, length };
}

export function parsePrefix(text: string, options: { strict?: boolean } = {}): IPPrefix {
  const { ip, length } = splitCIDR(text, "IP prefix");
  const prefix = prefixFromIP(ip, length);
  if ((options.strict ?? true) && prefix.network.value !== ip.value) {
    throw new AddressParseError(
      text,
      `host bits are set (did you mean "${formatPrefix(prefix)}"?)`,
      "IP prefix",
    );
  }
  return prefix;
}

/** Parses an interface address such as "10.0.0.5/24": the address plus the prefix it lives in. */
export function parseInterfaceCIDR(text: string): { ip: IPAddress; prefix: IPPrefix } {
  const { ip, length } = splitCIDR(text, "interface address");
  return { ip, prefix: prefixFromIP(ip, length) };
}

export function formatPrefix(p: IPPrefix): string {
  return `${formatIP(p.network)}/${p.length}`;
}

export function formatInterfaceCIDR(ip: IPAddress, length: number): string {
  checkLength(ip.family, length);
  return `${formatIP(ip)}/${length}`;
}

export function prefixSize(p: IPPrefix): bigint {
  return 1n << BigInt(bitLength(p.family) - p.length);
}

export function firstIP(p: IPPrefix): IPAddress {
  return p.network;
}

export function lastIP(p: IPPrefix): IPAddress {
  return ipFromBigint(p.family, p.network.value | hostMask(p.family, p.length));
}

export function containsIP(p: IPPrefix, ip: IPAddress): boolean {
  return p.family === ip.family && (ip.value & ~hostMask(p.family, p.length)) === p.network.value;
}

export function containsPrefix(outer: IPPrefix, inner: IPPrefix): boolean {
  return outer.length <= inner.length && containsIP(outer, inner.network);
}

export function prefixesOverlap(a: IPPrefix, b: IPPrefix): boolean {
  return containsPrefix(a, b) || containsPrefix(b, a);
}

export function prefixEquals(a: IPPrefix, b: IPPrefix): boolean {
  return a.family === b.family && a.length === b.length && a.network.value === b.network.value;
}

export function nthIP(p: IPPrefix, n: bigint): IPAddress {
  if (n < 0n || n >= prefixSize(p)) {
    throw new RangeError(`Offset ${n} is outside ${formatPrefix(p)} (size ${prefixSize(p)})`);
  }
  return addToIP(p.network, n);
}

export function* iterateIPs(p: IPPrefix): Generator<IPAddress> {
  const end = lastIP(p).value;
  for (let v = p.network.value; v <= end; v++) yield ipFromBigint(p.family, v);
}

function checkNewLength(p: IPPrefix, newLength: number): void {
  if (!Number.isInteger(newLength) || newLength < p.length || newLength > bitLength(p.family)) {
    throw new RangeError(
      `Cannot split ${formatPrefix(p)} into /${newLength} subnets: length must be ${p.length}-${bitLength(p.family)}`,
    );
  }
}

export function subnetCount(p: IPPrefix, newLength: number): bigint {
  checkNewLength(p, newLength);
  return 1n << BigInt(newLength - p.length);
}

export function nthSubnet(p: IPPrefix, newLength: number, index: bigint): IPPrefix {
  const count = subnetCount(p, newLength);
  if (index < 0n || index >= count) {
    throw new RangeError(
      `Subnet index ${index} is outside 0-${count - 1n} for /${newLength} in ${formatPrefix(p)}`,
    );
  }
  const network = ipFromBigint(
    p.family,
    p.network.value + (index << BigInt(bitLength(p.family) - newLength)),
  );
  return { family: p.family, network, length: newLength } as IPPrefix;
}

export function* subnets(p: IPPrefix, newLength: number): Generator<IPPrefix> {
  const count = subnetCount(p, newLength);
  for (let i = 0n; i < count; i++) yield nthSubnet(p, newLength, i);
}

/**
 * Checks of single BGP config values (AS numbers, timers, addresses, prefixes, passwords):
 * each returns the value in canonical form or throws BgpConfigError naming the field.
 */
import { formatIP, parseIP } from "../ipnet/address.ts";
import { AddressParseError } from "../ipnet/errors.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import { BgpConfigError } from "./bgp-config-error.ts";

/** Linux TCP_MD5SIG_MAXKEYLEN. */
export const MAX_PASSWORD_LENGTH = 80;

export function checkInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new BgpConfigError(field, `is ${value}; must be a whole number from ${min} to ${max}`);
  return value;
}

/** RFC 4271 §4.2: a hold time of 0 (no keepalives) or at least 3 seconds. */
export function checkHold(field: string, value: number): number {
  if (value !== 0) checkInt(field, value, 3, 65535);
  return value;
}

export function checkPrefix(field: string, text: string): string {
  try {
    return formatPrefix(parsePrefix(text));
  } catch (error) {
    if (error instanceof AddressParseError) throw new BgpConfigError(field, `"${text}": ${error.reason}`);
    throw error;
  }
}

function isV4(value: bigint, network: bigint, length: number): boolean {
  return value >> BigInt(32 - length) === network >> BigInt(32 - length);
}

function isV6(value: bigint, network: bigint, length: number): boolean {
  return value >> BigInt(128 - length) === network >> BigInt(128 - length);
}

/** A unicast address BIRD can open a session to without naming an interface. */
export function checkPeerAddress(field: string, text: string): string {
  let value: bigint;
  let family: 4 | 6;
  try {
    ({ value, family } = parseIP(text));
  } catch (error) {
    if (error instanceof AddressParseError) throw new BgpConfigError(field, `"${text}": ${error.reason}`);
    throw error;
  }
  const refuse = (why: string) => new BgpConfigError(field, `"${text}" ${why}`);
  if (value === 0n) throw refuse("is the unspecified address");
  if (family === 4) {
    if (isV4(value, 0x7f000000n, 8)) throw refuse("is a loopback address");
    if (isV4(value, 0xe0000000n, 4) || value === 0xffffffffn) throw refuse("is not a unicast address");
  } else {
    if (value === 1n) throw refuse("is a loopback address");
    if (isV6(value, 0xffn << 120n, 8)) throw refuse("is not a unicast address");
    if (isV6(value, 0xfe8n << 116n, 10))
      throw refuse("is link-local: a session to it needs an interface, which podnet does not configure");
    if (value >> 32n === 0xffffn) throw refuse("is IPv4-mapped: give the IPv4 address");
  }
  return formatIP(parseIP(text));
}

/** Printable ASCII without `"` and `\`, so it can be written into BIRD's quoted string as is. */
export function checkPassword(field: string, password: string): string {
  if (password.length < 1 || password.length > MAX_PASSWORD_LENGTH)
    throw new BgpConfigError(field, `must be 1 to ${MAX_PASSWORD_LENGTH} characters long`);
  for (const ch of password) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code > 0x7e || ch === '"' || ch === "\\")
      throw new BgpConfigError(
        field,
        'may hold printable ASCII only, without " and \\ (no quotes, backslashes or line breaks)',
      );
  }
  return password;
}

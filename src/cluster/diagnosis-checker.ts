/**
 * Field checks for the diagnosis records (diagnosis-records.ts, diagnosis-answers.ts), bound to
 * one key so every error names it: "Invalid diagnosis record KEY: FIELD REASON". Strings never
 * carry control characters: they reach terminals and copy-paste command lines.
 */
import { escapeCode, escapeControls, firstControl } from "../base/control-chars.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { NODE_NAME } from "./node-record.ts";

/** Interface names as the kernel allows them (IFNAMSIZ − 1), restricted to characters safe on a command line. */
export const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

export class InvalidDiagnosisRecordError extends Error {
  override readonly name = "InvalidDiagnosisRecordError";
  constructor(
    readonly key: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid diagnosis record ${key}: ${field} ${reason}`);
  }
}

export type Json = Record<string, unknown>;

/** Field checks bound to one key, so every error names it. */
export class Checker {
  constructor(readonly key: string) {}

  fail(field: string, reason: string): InvalidDiagnosisRecordError {
    return new InvalidDiagnosisRecordError(this.key, field, reason);
  }

  parse(text: string): Json {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw this.fail("record", `is not JSON (${(error as Error).message})`);
    }
    return this.object(value, "record");
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw this.fail(field, "must be an object");
    return value as Json;
  }

  string(value: unknown, field: string, max = 1024): string {
    if (typeof value !== "string") throw this.fail(field, "must be a string");
    if (value.length > max) throw this.fail(field, `is longer than ${max} characters`);
    const control = firstControl(value);
    if (control !== undefined)
      throw this.fail(field, `contains the control character ${escapeCode(control)}`);
    return value;
  }

  boolean(value: unknown, field: string): boolean {
    if (typeof value !== "boolean") throw this.fail(field, "must be true or false");
    return value;
  }

  optional<T>(value: unknown, check: (v: unknown) => T): T | undefined {
    return value === undefined ? undefined : check(value);
  }

  /** A string matching `pattern` (what it is, for the message). */
  matching(value: unknown, field: string, pattern: RegExp, what: string): string {
    const s = this.string(value, field);
    if (!pattern.test(s)) throw this.fail(field, `must be ${what}, not ${JSON.stringify(s)}`);
    return s;
  }

  ifname(value: unknown, field: string): string {
    return this.matching(value, field, INTERFACE_NAME, "an interface name (1–15 of A-Z a-z 0-9 _ . : @ -)");
  }

  /** An address with its prefix length ("10.244.1.1/24"). */
  cidr(value: unknown, field: string): string {
    const s = this.string(value, field);
    const [ip, len, ...rest] = s.split("/");
    const parsed = ip === undefined ? undefined : tryParseIP(ip);
    const bits = parsed?.family === 6 ? 128 : 32;
    if (
      parsed === undefined ||
      rest.length > 0 ||
      len === undefined ||
      !/^\d{1,3}$/.test(len) ||
      Number(len) > bits
    )
      throw this.fail(field, `must be an address with its prefix length, not ${JSON.stringify(s)}`);
    return s;
  }

  optionalString(value: unknown, field: string, max = 1024): string | undefined {
    return value === undefined ? undefined : this.string(value, field, max);
  }

  number(value: unknown, field: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) throw this.fail(field, "must be a number");
    return value;
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
      throw this.fail(field, `must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
    return value;
  }

  port(value: unknown, field: string): number {
    return this.integer(value, field, 1, 65535);
  }

  array(value: unknown, field: string, max = Number.POSITIVE_INFINITY): unknown[] {
    if (!Array.isArray(value)) throw this.fail(field, "must be an array");
    if (value.length > max) throw this.fail(field, `has ${value.length} entries, more than ${max}`);
    return value;
  }

  /** An array whose elements are objects, each passed to `each` (which checks what readers use). */
  objects(value: unknown, field: string, each: (o: Json, at: string) => void = () => {}): Json[] {
    return this.array(value, field).map((v, i) => {
      const o = this.object(v, `${field}[${i}]`);
      each(o, `${field}[${i}]`);
      return o;
    });
  }

  strings(value: unknown, field: string, max = Number.POSITIVE_INFINITY): string[] {
    return this.array(value, field, max).map((v, i) => this.string(v, `${field}[${i}]`));
  }

  stringRecord(value: unknown, field: string): Record<string, string> {
    const o = this.object(value, field);
    for (const [k, v] of Object.entries(o)) this.string(v, `${field}.${k}`);
    return o as Record<string, string>;
  }

  /** A validated address in canonical form. */
  ip(value: unknown, field: string): string {
    const ip = typeof value === "string" ? tryParseIP(value) : undefined;
    if (ip === undefined) throw this.fail(field, `must be an IP address, not ${JSON.stringify(value)}`);
    return formatIP(ip);
  }

  ips(value: unknown, field: string, max: number): string[] {
    return this.array(value, field, max).map((v, i) => this.ip(v, `${field}[${i}]`));
  }

  node(value: unknown, field: string): string {
    if (typeof value !== "string" || !NODE_NAME.test(value))
      throw this.fail(
        field,
        `must be a node name (lowercase letters, digits, '.' and '-'), not ${JSON.stringify(value)}`,
      );
    return value;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value))
      throw this.fail(field, `must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
    return value as T;
  }
}

/** Pure: `value` (JSON data) with escapeControls applied to every string in it, keys included. */
export function escapeControlsDeep<T>(value: T): T {
  if (typeof value === "string") return escapeControls(value) as T;
  if (Array.isArray(value)) return value.map((v) => escapeControlsDeep(v)) as T;
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [escapeControls(k), escapeControlsDeep(v)]),
    ) as T;
  return value;
}

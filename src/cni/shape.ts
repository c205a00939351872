import { CniError } from "./errors.ts";

/**
 * Small readers for untrusted JSON. Every failure becomes a CniError whose message names the
 * document (`where`), the field path and the reason, e.g.
 * `Invalid prevResult: "ips[0].address" must be a string, got the number 5`.
 * Optional fields treat JSON null as absent, as Go encoders emit null for empty values.
 */

export type JsonObject = Record<string, unknown>;

export interface ShapeContext {
  /** The document being read, e.g. "network configuration" or "prevResult". */
  readonly where: string;
  /** The CNI code to report: 7 for configs, 6 for undecodable plugin output. */
  readonly code: number;
}

export function isRecord(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  if (typeof v === "object") return "an object";
  return `the ${typeof v} ${String(v)}`;
}

export function invalid(ctx: ShapeContext, reason: string): CniError {
  return new CniError(ctx.code, `Invalid ${ctx.where}: ${reason}`);
}

function wrong(ctx: ShapeContext, field: string, expected: string, got: unknown): CniError {
  return invalid(ctx, `"${field}" must be ${expected}, got ${describeValue(got)}`);
}

export function requireRecord(ctx: ShapeContext, v: unknown, field: string): JsonObject {
  if (!isRecord(v)) throw wrong(ctx, field, "an object", v);
  return v;
}

export function requireArray(ctx: ShapeContext, v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw wrong(ctx, field, "an array", v);
  return v;
}

export function readString(ctx: ShapeContext, obj: JsonObject, key: string, path = ""): string {
  const v = obj[key];
  if (v === undefined) throw invalid(ctx, `"${path}${key}" is missing`);
  if (typeof v !== "string") throw wrong(ctx, path + key, "a string", v);
  return v;
}

export function readOptString(
  ctx: ShapeContext,
  obj: JsonObject,
  key: string,
  path = "",
): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw wrong(ctx, path + key, "a string", v);
  return v;
}

export function readOptBoolean(
  ctx: ShapeContext,
  obj: JsonObject,
  key: string,
  path = "",
): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw wrong(ctx, path + key, "true or false", v);
  return v;
}

export function readOptInteger(
  ctx: ShapeContext,
  obj: JsonObject,
  key: string,
  path: string,
  min: number,
  max: number,
): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw wrong(ctx, path + key, `an integer from ${min} to ${max}`, v);
  }
  return v;
}

export function readOptStringArray(
  ctx: ShapeContext,
  obj: JsonObject,
  key: string,
  path = "",
): string[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  const items = requireArray(ctx, v, path + key);
  return items.map((item, i) => {
    if (typeof item !== "string") throw wrong(ctx, `${path}${key}[${i}]`, "a string", item);
    return item;
  });
}

export function readOptRecord(
  ctx: ShapeContext,
  obj: JsonObject,
  key: string,
  path = "",
): JsonObject | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  return requireRecord(ctx, v, path + key);
}

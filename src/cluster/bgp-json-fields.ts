/**
 * Typed readers of the fields of the stored BGP config's JSON: each names the field it refuses
 * (`peers[1].asNumber must be a whole number`), absent fields read as undefined, unknown fields
 * are refused so a misspelt option is not silently ignored.
 */
import { errorText } from "../base/error-text.ts";
import { BgpConfigError } from "./bgp-config-error.ts";

export type JSONRecord = Readonly<Record<string, unknown>>;

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export function readJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BgpConfigError("(root)", `is not JSON: ${errorText(error)}`);
  }
}

/** `value` as an object holding only `known` fields; `path` names it ("" for the root). */
export function objectField(value: unknown, path: string, known: readonly string[]): JSONRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new BgpConfigError(path || "(root)", "must be an object");
  const record = value as JSONRecord;
  for (const key of Object.keys(record)) {
    if (!known.includes(key))
      throw new BgpConfigError(join(path, key), `is not a known field (known: ${known.join(", ")})`);
  }
  return record;
}

export function intField(record: JSONRecord, key: string, path: string): number | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    throw new BgpConfigError(join(path, key), `must be a whole number, not ${JSON.stringify(value)}`);
  return value;
}

export function stringField(record: JSONRecord, key: string, path: string): string | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string")
    throw new BgpConfigError(join(path, key), `must be a string, not ${JSON.stringify(value)}`);
  return value;
}

export function boolField(record: JSONRecord, key: string, path: string): boolean | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (typeof value !== "boolean")
    throw new BgpConfigError(join(path, key), `must be true or false, not ${JSON.stringify(value)}`);
  return value;
}

export function stringArrayField(record: JSONRecord, key: string, path: string): string[] | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    throw new BgpConfigError(join(path, key), "must be an array of strings");
  return value;
}

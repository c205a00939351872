/**
 * Argument checks shared by both engines, so a bad key or transaction fails the same way on
 * SQLite and on etcd, before anything is written.
 */

import { unhandled } from "../base/unhandled.ts";
import type { Compare, TxnOp } from "./store.ts";
import { InvalidStoreArgumentError } from "./store.ts";

// etcd's own limit (lease.MaxLeaseTTL): about 285 years.
const MAX_TTL_SECONDS = 9_000_000_000;
const LEASE_ID = /^[1-9][0-9]{0,18}$/;
const INT64_MAX = 2n ** 63n - 1n;

export function checkKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new InvalidStoreArgumentError("key", "must be a non-empty string");
  }
  if (!key.isWellFormed())
    throw new InvalidStoreArgumentError(`key ${JSON.stringify(key)}`, "lone surrogate");
  return key;
}

export function checkPrefix(prefix: string): string {
  if (typeof prefix !== "string" || !prefix.isWellFormed()) {
    throw new InvalidStoreArgumentError(`prefix ${JSON.stringify(prefix)}`, "must be a well-formed string");
  }
  return prefix;
}

export function checkPageSize(pageSize: number): number {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1)
    throw new InvalidStoreArgumentError(`page size ${pageSize}`, "must be a positive integer");
  return pageSize;
}

export function checkValue(key: string, value: string): string {
  if (typeof value !== "string" || !value.isWellFormed()) {
    throw new InvalidStoreArgumentError(`value of "${key}"`, "must be a well-formed string");
  }
  return value;
}

/** Lease IDs are etcd's positive int64 lease IDs written in decimal. */
export function isLeaseId(id: string): boolean {
  return typeof id === "string" && LEASE_ID.test(id) && BigInt(id) <= INT64_MAX;
}

export function checkTtl(ttlSeconds: number): number {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new InvalidStoreArgumentError(
      `lease TTL ${ttlSeconds}`,
      `must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`,
    );
  }
  return ttlSeconds;
}

export function checkRevision(what: string, revision: number): number {
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw new InvalidStoreArgumentError(`${what} ${revision}`, "must be a positive integer");
  }
  return revision;
}

function checkOps(branch: string, ops: readonly TxnOp[]): void {
  const seen = new Set<string>();
  for (const op of ops) {
    checkKey(op.key);
    if (seen.has(op.key)) {
      // etcd refuses this too ("duplicate key given in txn request"): the outcome would depend on order.
      throw new InvalidStoreArgumentError(`transaction ${branch} ops`, `key "${op.key}" appears twice`);
    }
    seen.add(op.key);
    switch (op.kind) {
      case "put":
        checkValue(op.key, op.value);
        break;
      case "delete":
        break;
      default: {
        unhandled(op, (shown) => new InvalidStoreArgumentError("transaction op", `unknown kind in ${shown}`));
      }
    }
  }
}

export function checkTxn(
  compares: readonly Compare[],
  success: readonly TxnOp[],
  failure: readonly TxnOp[],
): void {
  for (const c of compares) {
    checkKey(c.key);
    if (!["=", "!=", "<", ">"].includes(c.op)) {
      throw new InvalidStoreArgumentError(`compare on "${c.key}"`, `unknown operator "${c.op}"`);
    }
    if (c.target === "value") checkValue(c.key, c.value);
    else if (!Number.isSafeInteger(c.value) || c.value < 0) {
      throw new InvalidStoreArgumentError(
        `compare on "${c.key}"`,
        `${c.target} must be a non-negative integer`,
      );
    }
  }
  checkOps("success", success);
  checkOps("failure", failure);
}

/**
 * The smallest string greater than every string starting with `prefix`, in UTF-8 byte order
 * (SQLite's BINARY collation), or undefined when no such bound exists (empty prefix). UTF-8
 * preserves code point order and is prefix-free, so bumping the last code point is exact.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    if (last < 0x10ffff) {
      // Surrogates are not code points UTF-8 can carry: the next one after U+D7FF is U+E000.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return points.join("") + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/** Whether two strings compare as their UTF-8 bytes do (etcd compares values as bytes). */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * etcd's range for every key starting with `prefix`: [key, rangeEnd) over bytes, where a
 * rangeEnd of "\0" means "to the end" (the empty prefix, or one of only 0xff bytes).
 */
export function prefixRangeBytes(prefix: string): { key: Buffer; rangeEnd: Buffer } {
  const key = Buffer.from(prefix, "utf8");
  for (let i = key.length - 1; i >= 0; i--) {
    const byte = key[i] as number;
    if (byte < 0xff) {
      const end = Buffer.from(key.subarray(0, i + 1));
      end[i] = byte + 1;
      return { key, rangeEnd: end };
    }
  }
  return { key: key.length === 0 ? Buffer.from([0]) : key, rangeEnd: Buffer.from([0]) };
}

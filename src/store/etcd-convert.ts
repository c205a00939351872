/**
 * Translation between the Store contract's types and etcd's protobuf messages (as the etcd3
 * client's proto loader renders them: 64-bit numbers as decimal strings, bytes as Buffers).
 */
import type { ICompare, IKeyValue, IRequestOp } from "etcd3";
import { CompareResult, CompareTarget } from "etcd3";
import { unhandled } from "../base/unhandled.ts";
import type { Compare, KeyValue, TxnOp } from "./store.ts";
import { InvalidStoreArgumentError } from "./store.ts";
import { isLeaseId } from "./store-args.ts";

const COMPARE_TARGET = {
  version: CompareTarget.Version,
  createRevision: CompareTarget.Create,
  modRevision: CompareTarget.Mod,
  value: CompareTarget.Value,
} as const;

const COMPARE_RESULT = {
  "=": CompareResult.Equal,
  "!=": CompareResult.NotEqual,
  "<": CompareResult.Less,
  ">": CompareResult.Greater,
} as const;

export function toKeyValue(kv: IKeyValue): KeyValue {
  const out = {
    key: kv.key.toString("utf8"),
    value: kv.value.toString("utf8"),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
  };
  return kv.lease === "0" ? out : { ...out, lease: kv.lease };
}

export function toCompare(c: Compare): ICompare {
  const base = {
    key: Buffer.from(c.key, "utf8"),
    target: COMPARE_TARGET[c.target],
    result: COMPARE_RESULT[c.op],
  };
  switch (c.target) {
    case "value":
      return { ...base, value: Buffer.from(c.value, "utf8") };
    case "version":
      return { ...base, version: c.value };
    case "createRevision":
      return { ...base, create_revision: c.value };
    case "modRevision":
      return { ...base, mod_revision: c.value };
    default: {
      unhandled(c, (shown) => new InvalidStoreArgumentError("compare", shown));
    }
  }
}

export function checkLease(leaseId: string): string {
  if (!isLeaseId(leaseId)) {
    throw new InvalidStoreArgumentError(`lease ID "${leaseId}"`, "must be a positive decimal integer");
  }
  return leaseId;
}

export function toRequestOp(op: TxnOp): IRequestOp {
  const key = Buffer.from(op.key, "utf8");
  switch (op.kind) {
    case "put":
      return {
        request_put: {
          key,
          value: Buffer.from(op.value, "utf8"),
          lease: op.lease === undefined ? 0 : checkLease(op.lease),
        },
      };
    case "delete":
      return { request_delete_range: { key } };
    default: {
      unhandled(op, (shown) => new InvalidStoreArgumentError("transaction op", shown));
    }
  }
}

/**
 * A count-only read of one key, which etcd performs linearizably (after confirming the leader's
 * commit index). etcd serves a transaction whose ops are all serializable reads from the member
 * that received it, without asking the leader, and a transaction with no ops at all counts as
 * one: a follower that has not yet applied the latest writes would then judge the compares on
 * stale data and report a stale revision. One such read among the ops makes etcd wait first.
 */
export function linearizableBarrier(key: string): IRequestOp {
  return { request_range: { key: Buffer.from(key, "utf8"), count_only: true, serializable: false } };
}

/** A gRPC error message without its status prefix and resolver notes. */
export function shortGrpcMessage(message: string): string {
  const text = message
    .replace(/^\d+ [A-Z_]+: /, "")
    .replace(/\s*Resolution note:.*$/s, "")
    .replace(/Last error: Error: /, "")
    .trim();
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

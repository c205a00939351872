/**
 * A reference model of the Store contract's key-value part (etcd's semantics, in memory), which
 * the property test drives in lockstep with a real store: every answer must agree.
 */
import type { Compare, CompareOp, KeyValue, TxnOp, TxnResult } from "../../../src/store/store.ts";

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function holds(op: CompareOp, sign: number): boolean {
  switch (op) {
    case "=":
      return sign === 0;
    case "!=":
      return sign !== 0;
    case "<":
      return sign < 0;
    case ">":
      return sign > 0;
    default: {
      const _never: never = op;
      return _never;
    }
  }
}

export class StoreModel {
  readonly kvs = new Map<string, KeyValue>();

  constructor(public revision: number) {}

  get(key: string): KeyValue | undefined {
    return this.kvs.get(key);
  }

  list(prefix: string): KeyValue[] {
    return [...this.kvs.values()]
      .filter((kv) => kv.key.startsWith(prefix))
      .sort((a, b) => utf8Compare(a.key, b.key));
  }

  put(key: string, value: string): number {
    this.apply([{ kind: "put", key, value }]);
    return this.revision;
  }

  delete(key: string): boolean {
    const existed = this.kvs.has(key);
    this.apply([{ kind: "delete", key }]);
    return existed;
  }

  txn(compares: readonly Compare[], success: readonly TxnOp[], failure: readonly TxnOp[]): TxnResult {
    const succeeded = compares.every((c) => this.compareHolds(c));
    this.apply(succeeded ? success : failure);
    return { succeeded, revision: this.revision };
  }

  private compareHolds(c: Compare): boolean {
    const kv = this.kvs.get(c.key);
    switch (c.target) {
      case "value":
        return kv !== undefined && holds(c.op, utf8Compare(kv.value, c.value));
      case "version":
        return holds(c.op, Math.sign((kv?.version ?? 0) - c.value));
      case "createRevision":
        return holds(c.op, Math.sign((kv?.createRevision ?? 0) - c.value));
      case "modRevision":
        return holds(c.op, Math.sign((kv?.modRevision ?? 0) - c.value));
      default: {
        const _never: never = c;
        return _never;
      }
    }
  }

  /** All ops of one write share one new revision, taken only if something changes. */
  private apply(ops: readonly TxnOp[]): void {
    const revision = this.revision + 1;
    let changed = false;
    for (const op of ops) {
      const old = this.kvs.get(op.key);
      if (op.kind === "put") {
        this.kvs.set(op.key, {
          key: op.key,
          value: op.value,
          createRevision: old?.createRevision ?? revision,
          modRevision: revision,
          version: (old?.version ?? 0) + 1,
        });
        changed = true;
      } else if (old) {
        this.kvs.delete(op.key);
        changed = true;
      }
    }
    if (changed) this.revision = revision;
  }
}

/**
 * How one SQLite write transaction changes the data: compares evaluated as etcd evaluates them,
 * and every change of the transaction recorded under one new revision in both the key table
 * and the event log that watches read.
 */

import { unhandled } from "../base/unhandled.ts";
import type { KvRow, SqliteDb } from "./sqlite-db.ts";
import type { Compare, CompareOp } from "./store.ts";
import { compareUtf8 } from "./store-args.ts";

function opHolds(op: CompareOp, sign: number): boolean {
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
      unhandled(op);
    }
  }
}

/** etcd's semantics: a missing key has version/revisions 0, and any value compare on it fails. */
export function compareHolds(c: Compare, row: KvRow | undefined): boolean {
  switch (c.target) {
    case "value":
      return row !== undefined && opHolds(c.op, compareUtf8(row.value, c.value));
    case "version":
      return opHolds(c.op, Math.sign((row?.version ?? 0) - c.value));
    case "createRevision":
      return opHolds(c.op, Math.sign((row?.create_rev ?? 0) - c.value));
    case "modRevision":
      return opHolds(c.op, Math.sign((row?.mod_rev ?? 0) - c.value));
    default: {
      unhandled(c);
    }
  }
}

/** Allocates one new revision for a batch of changes, only if something actually changes. */
export class RevisionWriter {
  private revision: number | undefined;
  private seq = 0;

  constructor(
    private readonly sql: SqliteDb,
    private readonly historyRevisions: number,
  ) {}

  private next(): number {
    this.revision ??= this.sql.meta().revision + 1;
    return this.revision;
  }

  put(key: string, value: string, lease: number | null): void {
    const old = this.sql.getKv(key);
    const revision = this.next();
    const row = {
      key,
      value,
      create_rev: old?.create_rev ?? revision,
      mod_rev: revision,
      version: (old?.version ?? 0) + 1,
      lease,
    };
    this.sql.upsertKv(row);
    this.sql.insertEvent({ ...row, revision, seq: this.seq++, type: "put" });
  }

  delete(key: string): boolean {
    if (!this.sql.getKv(key)) return false;
    const revision = this.next();
    this.sql.deleteKv(key);
    this.sql.insertEvent({
      revision,
      seq: this.seq++,
      key,
      type: "delete",
      value: null,
      create_rev: null,
      version: null,
      lease: null,
    });
    return true;
  }

  /** Publishes the revision and trims history; returns the store revision after the write. */
  finish(): number {
    if (this.revision === undefined) return this.sql.meta().revision;
    this.sql.setRevision(this.revision);
    this.sql.compactTo(this.revision - this.historyRevisions + 1);
    return this.revision;
  }
}

/**
 * The datastore contract shared by the embedded (SQLite) and distributed (etcd v3) engines:
 * revisioned keys, compare-and-swap transactions, TTL leases with renewal, and prefix watches
 * that resume from a revision. Modelled on etcd's v3 API, which both flannel and Calico build on.
 * Keys and values are strings; every write bumps one store-wide revision.
 *
 * Every call is linearizable, on any etcd member: a read or a transaction's compares see every
 * write that completed before the call began, so a revision a call reports is never below the
 * revision an earlier completed call reported.
 */

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the write that created the key (since its last deletion). */
  readonly createRevision: number;
  /** Revision of the last write to the key. */
  readonly modRevision: number;
  /** Writes to the key since it was created (1 on creation). */
  readonly version: number;
  /** The lease the key is attached to, if any: it disappears when the lease expires. */
  readonly lease?: string;
}

/** A condition of a transaction. `version = 0` / `createRevision = 0` mean "the key does not exist". */
export type Compare =
  | { readonly key: string; readonly target: "version"; readonly op: CompareOp; readonly value: number }
  | {
      readonly key: string;
      readonly target: "createRevision";
      readonly op: CompareOp;
      readonly value: number;
    }
  | { readonly key: string; readonly target: "modRevision"; readonly op: CompareOp; readonly value: number }
  | { readonly key: string; readonly target: "value"; readonly op: CompareOp; readonly value: string };

export type CompareOp = "=" | "!=" | "<" | ">";

export type TxnOp =
  | { readonly kind: "put"; readonly key: string; readonly value: string; readonly lease?: string }
  | { readonly kind: "delete"; readonly key: string };

export interface TxnResult {
  /** Whether every compare held (and the success ops ran) or not (and the failure ops ran). */
  readonly succeeded: boolean;
  /**
   * The store revision after the transaction: its own new revision if the branch that ran
   * changed a key, otherwise the current revision unchanged (no ops, or only deletes of
   * missing keys, take no revision).
   */
  readonly revision: number;
}

export interface ListResult {
  readonly kvs: readonly KeyValue[];
  /** The store revision the list was read at: watch from revision + 1 to miss nothing. */
  readonly revision: number;
}

export type WatchEvent =
  | { readonly type: "put"; readonly kv: KeyValue; readonly revision: number }
  | { readonly type: "delete"; readonly key: string; readonly revision: number };

export interface WatchOptions {
  /** First revision to deliver (inclusive). Events since then are replayed before live ones. */
  readonly fromRevision: number;
  readonly onEvents: (events: readonly WatchEvent[]) => void;
  /** The watch cannot continue (history compacted, store closed, datastore lost for good). */
  readonly onError: (error: Error) => void;
}

export interface Watch {
  close(): void;
}

export interface Lease {
  readonly id: string;
  readonly ttlSeconds: number;
}

export interface Store {
  /** Which engine, for logs and `ipam show`: "sqlite:/path" or "etcd://a:1,b:2". */
  readonly description: string;
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string): Promise<ListResult>;
  /**
   * What list() returns, handed to `onPage` a page of at most `pageSize` keys at a time, in key
   * order, every page read at the one revision this resolves to (no call when no key is under
   * the prefix). A reader that turns each page into its records holds one page of raw text at a
   * time, not the whole listing: 100,000 pod records are about 50 MiB resident as text. An
   * error thrown by `onPage` ends the listing and is thrown as it is.
   */
  listPages(prefix: string, pageSize: number, onPage: (kvs: readonly KeyValue[]) => void): Promise<number>;
  /** Unconditional write; returns the new revision. */
  put(key: string, value: string, options?: { readonly lease?: string }): Promise<number>;
  /** Returns whether the key existed. */
  delete(key: string): Promise<boolean>;
  txn(
    compares: readonly Compare[],
    success: readonly TxnOp[],
    failure?: readonly TxnOp[],
  ): Promise<TxnResult>;
  grantLease(ttlSeconds: number): Promise<Lease>;
  /** Renews the lease for its full TTL; throws LeaseNotFoundError once it has expired. */
  keepAlive(leaseId: string): Promise<void>;
  /** Ends the lease now, deleting its keys. Revoking an unknown lease is not an error. */
  revoke(leaseId: string): Promise<void>;
  watch(prefix: string, options: WatchOptions): Watch;
  /**
   * Discards the history before `revision`: watches from an older revision then fail with
   * CompactedError. Both engines also compact on their own, keeping a recent window.
   */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The datastore cannot be reached (no quorum, server down). The operation did not complete; for
 * etcd a write that timed out may still be applied once quorum returns, so a caller that must
 * know reads the key back (compare-and-swap claims are safe to repeat).
 */
export class DatastoreUnavailableError extends Error {
  override readonly name = "DatastoreUnavailableError";
  constructor(
    readonly store: string,
    readonly reason: string,
  ) {
    super(`Datastore unavailable (${store}): ${reason}`);
  }
}

export class LeaseNotFoundError extends Error {
  override readonly name = "LeaseNotFoundError";
  constructor(readonly leaseId: string) {
    super(`Lease ${leaseId} not found (expired or revoked)`);
  }
}

/** A watch asked for history the store no longer keeps: list again and watch from there. */
export class CompactedError extends Error {
  override readonly name = "CompactedError";
  constructor(
    readonly requested: number,
    /** The oldest revision still kept, when the store said (etcd's range error does not). */
    readonly oldest: number | undefined,
  ) {
    super(
      `Revision ${requested} is compacted (oldest kept: ${oldest ?? "not known, later"}): re-list and watch from the list's revision`,
    );
  }
}

/** A key, value, lease ID, TTL, revision or transaction the store refuses before touching data. */
export class InvalidStoreArgumentError extends Error {
  override readonly name = "InvalidStoreArgumentError";
  constructor(
    readonly argument: string,
    readonly reason: string,
  ) {
    super(`Invalid ${argument}: ${reason}`);
  }
}

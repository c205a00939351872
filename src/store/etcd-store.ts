/**
 * The distributed datastore: the Store contract on an etcd v3 cluster through the `etcd3`
 * client. Two choices make a lost quorum fail fast and honestly:
 * - every call carries a short deadline and the "hasleader" metadata, so a member cut off from
 *   its peers answers "no leader" instead of holding the call until the client gives up;
 * - a call is retried on another member only when it certainly never reached etcd (connection
 *   refused, no leader): retrying a write that timed out could apply it twice, and a
 *   compare-and-swap that succeeded the first time would then report failure.
 * A member that just failed is skipped for a moment while others are healthy (MemberHealth).
 */
import { InterceptingCall, type Interceptor } from "@grpc/grpc-js";
import { handleWhen, retry } from "cockatiel";
import {
  ClientClosedError,
  castGrpcError,
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCOutOfRangeError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  GRPCUnknownError,
} from "etcd3";
import {
  checkLease,
  linearizableBarrier,
  shortGrpcMessage,
  toCompare,
  toKeyValue,
  toRequestOp,
} from "./etcd-convert.ts";
import { MemberHealth, MemberSkippedError } from "./etcd-host-policy.ts";
import { EtcdWatch } from "./etcd-watch.ts";
import type {
  Compare,
  KeyValue,
  Lease,
  ListResult,
  Store,
  TxnOp,
  TxnResult,
  Watch,
  WatchOptions,
} from "./store.ts";
import {
  CompactedError,
  DatastoreUnavailableError,
  InvalidStoreArgumentError,
  LeaseNotFoundError,
} from "./store.ts";
import {
  checkKey,
  checkPageSize,
  checkPrefix,
  checkRevision,
  checkTtl,
  checkTxn,
  checkValue,
  prefixRangeBytes,
} from "./store-args.ts";

export interface EtcdStoreOptions {
  /** Deadline of every call (default 3000 ms): with quorum lost, calls fail within about this. */
  readonly timeoutMs?: number;
}

// The request certainly never reached etcd's raft log, so another member may safely take it.
const NOT_SENT = /No connection established|ECONNREFUSED|etcdserver: no leader/i;

function notSent(e: Error): boolean {
  return e instanceof GRPCUnavailableError && NOT_SENT.test(e.message);
}

/** etcd's v3rpc interceptors reject calls carrying this while the member has no leader. */
const requireLeader: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set("hasleader", "true");
      next(metadata, listener);
    },
  });

export class EtcdStore implements Store {
  readonly description: string;
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private readonly watches = new Set<EtcdWatch>();
  private closed = false;

  /** `endpoints` are "HOST:PORT" client URLs of the members (plain http). */
  constructor(
    readonly endpoints: readonly string[],
    options: EtcdStoreOptions = {},
  ) {
    if (endpoints.length === 0) throw new InvalidStoreArgumentError("etcd endpoints", "none given");
    this.description = `etcd://${endpoints.join(",")}`;
    this.timeoutMs = options.timeoutMs ?? 3000;
    const health = new MemberHealth();
    this.client = new Etcd3({
      hosts: endpoints.map((e) => `http://${e}`),
      grpcOptions: { interceptors: [requireLeader] },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.timeoutMs }),
      faultHandling: {
        host: (member) => health.policyFor(member),
        global: retry(handleWhen(notSent), { maxAttempts: endpoints.length }),
      },
    });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from(key, "utf8") }));
    const kv = res.kvs[0];
    return kv ? toKeyValue(kv) : undefined;
  }

  async list(prefix: string): Promise<ListResult> {
    checkPrefix(prefix);
    const { key, rangeEnd } = prefixRangeBytes(prefix);
    const res = await this.call(() => this.client.kv.range({ key, range_end: rangeEnd }));
    return { kvs: res.kvs.map(toKeyValue), revision: Number(res.header.revision) };
  }

  async listPages(
    prefix: string,
    pageSize: number,
    onPage: (kvs: readonly KeyValue[]) => void,
  ): Promise<number> {
    checkPrefix(prefix);
    checkPageSize(pageSize);
    const { key, rangeEnd } = prefixRangeBytes(prefix);
    let from = key;
    // The first page's revision; later pages are read at it (etcd keeps it until compacted).
    let revision = 0;
    for (;;) {
      const at = revision;
      const res = await this.call(() =>
        this.client.kv.range({ key: from, range_end: rangeEnd, limit: pageSize, revision: at }),
      ).catch((e: unknown) => {
        // Compacted between two pages: the listing cannot be finished at one revision.
        if (at > 0 && e instanceof GRPCOutOfRangeError && /compacted/.test(e.message))
          throw new CompactedError(at, undefined);
        throw e;
      });
      if (revision === 0) revision = Number(res.header.revision);
      const last = res.kvs[res.kvs.length - 1];
      if (last !== undefined) onPage(res.kvs.map(toKeyValue));
      if (!res.more || last === undefined) return revision;
      // The next page starts just after the last key: the same bytes and a zero byte.
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  async put(key: string, value: string, options: { readonly lease?: string } = {}): Promise<number> {
    checkKey(key);
    checkValue(key, value);
    const lease = options.lease === undefined ? 0 : checkLease(options.lease);
    const res = await this.call(
      () => this.client.kv.put({ key: Buffer.from(key, "utf8"), value: Buffer.from(value, "utf8"), lease }),
      options.lease,
    );
    return Number(res.header.revision);
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    const res = await this.call(() => this.client.kv.deleteRange({ key: Buffer.from(key, "utf8") }));
    return res.deleted !== "0";
  }

  async txn(
    compares: readonly Compare[],
    success: readonly TxnOp[],
    failure: readonly TxnOp[] = [],
  ): Promise<TxnResult> {
    checkTxn(compares, success, failure);
    const request = {
      compare: compares.map(toCompare),
      success: success.map(toRequestOp),
      failure: failure.map(toRequestOp),
    };
    // Without ops etcd would answer from the receiving member's possibly lagging state.
    if (success.length === 0 && failure.length === 0) {
      request.success.push(linearizableBarrier(compares[0]?.key ?? "\0"));
    }
    const lease = [...success, ...failure].find((op) => op.kind === "put" && op.lease !== undefined);
    const res = await this.call(
      () => this.client.kv.txn(request),
      lease?.kind === "put" ? lease.lease : undefined,
    );
    return { succeeded: res.succeeded, revision: Number(res.header.revision) };
  }

  async grantLease(ttlSeconds: number): Promise<Lease> {
    checkTtl(ttlSeconds);
    const res = await this.call(() => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }));
    if (res.error) throw new Error(`etcd refused a lease of ${ttlSeconds} s: ${res.error}`);
    // etcd raises TTLs below its minimum (about 1.5 election timeouts) and says so in TTL.
    return { id: res.ID, ttlSeconds: Number(res.TTL) };
  }

  async keepAlive(leaseId: string): Promise<void> {
    checkLease(leaseId);
    // A keep-alive is idempotent, so unlike writes it may move to another member on any failure.
    let ttl: number | undefined;
    for (let attempt = 1; ttl === undefined; attempt++) {
      try {
        ttl = await this.call(() => this.keepAliveOnce(leaseId), leaseId);
      } catch (e) {
        if (!(e instanceof DatastoreUnavailableError) || attempt >= this.endpoints.length) throw e;
      }
    }
    if (ttl <= 0) throw new LeaseNotFoundError(leaseId);
  }

  async revoke(leaseId: string): Promise<void> {
    checkLease(leaseId);
    try {
      await this.call(() => this.client.leaseClient.leaseRevoke({ ID: leaseId }), leaseId);
    } catch (e) {
      if (!(e instanceof LeaseNotFoundError)) throw e;
    }
  }

  watch(prefix: string, options: WatchOptions): Watch {
    checkPrefix(prefix);
    checkRevision("watch fromRevision", options.fromRevision);
    this.ensureOpen();
    const watch: EtcdWatch = new EtcdWatch(this.client, prefix, options, () => this.watches.delete(watch));
    this.watches.add(watch);
    return watch;
  }

  async compact(revision: number): Promise<void> {
    checkRevision("compaction revision", revision);
    try {
      await this.call(() => this.client.kv.compact({ revision, physical: true }));
    } catch (e) {
      if (e instanceof GRPCOutOfRangeError && /future revision/.test(e.message)) {
        throw new InvalidStoreArgumentError(`compaction revision ${revision}`, "beyond the current revision");
      }
      // Already compacted past it: the history before `revision` is gone, as asked.
      if (!(e instanceof GRPCOutOfRangeError && /compacted/.test(e.message))) throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new DatastoreUnavailableError(this.description, "the store was closed");
    for (const w of [...this.watches]) w.abort(error);
    this.client.close();
  }

  private keepAliveOnce(leaseId: string): Promise<number> {
    return this.client.leaseClient.leaseKeepAlive({ deadline: Date.now() + this.timeoutMs }).then(
      (stream) =>
        new Promise<number>((resolve, reject) => {
          let settled = false;
          const settle = (f: () => void) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            f();
          };
          // The stream's own deadline should fire first; this covers a stream that never opens.
          const timer = setTimeout(() => {
            settle(() => reject(new GRPCDeadlineExceededError("keep-alive got no answer")));
            stream.cancel();
          }, this.timeoutMs + 500);
          stream.on("data", (res) => {
            settle(() => resolve(Number(res.TTL)));
            stream.end();
          });
          stream.on("error", (err) => settle(() => reject(castGrpcError(err))));
          stream.on("end", () => settle(() => reject(new GRPCUnavailableError("keep-alive stream ended"))));
          stream.write({ ID: leaseId });
        }),
    );
  }

  private ensureOpen(): void {
    if (this.closed) throw new DatastoreUnavailableError(this.description, "the store was closed");
  }

  private async call<T>(fn: () => Promise<T>, leaseId?: string): Promise<T> {
    this.ensureOpen();
    try {
      return await fn();
    } catch (e) {
      throw this.mapError(e, leaseId);
    }
  }

  private mapError(e: unknown, leaseId: string | undefined): Error {
    if (!(e instanceof Error)) return new Error(String(e));
    if (
      leaseId !== undefined &&
      (e instanceof EtcdLeaseInvalidError || /requested lease not found/.test(e.message))
    ) {
      return new LeaseNotFoundError(leaseId);
    }
    const unavailable = (reason: string) => new DatastoreUnavailableError(this.description, reason);
    if (e instanceof MemberSkippedError) return unavailable("no member is reachable");
    // etcd passes the call's deadline on to its own waits (a linearizable read waiting for the
    // leader) and reports their expiry as UNKNOWN "context deadline exceeded".
    if (
      e instanceof GRPCDeadlineExceededError ||
      (e instanceof GRPCUnknownError && /context deadline/.test(e.message))
    ) {
      return unavailable(`no answer within ${this.timeoutMs} ms (quorum lost?)`);
    }
    if (e instanceof GRPCUnavailableError || e instanceof GRPCResourceExhastedError) {
      return unavailable(shortGrpcMessage(e.message));
    }
    if (e instanceof ClientClosedError || (this.closed && e instanceof GRPCCancelledError)) {
      return unavailable("the store was closed");
    }
    return e;
  }
}

/**
 * A prefix watch on etcd's raw watch stream. The client library's own watch manager resumes a
 * broken stream from the revision in the last response *header* (the store's newest revision),
 * which skips history when the stream breaks during a replay; this one always resumes from the
 * revision after the last event it delivered, and reports a compacted start revision with the
 * compaction point etcd gives, which the library drops.
 */
import type { Etcd3, IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from "etcd3";
import type { Watch, WatchEvent, WatchOptions } from "./store.ts";
import { CompactedError } from "./store.ts";
import { prefixRangeBytes } from "./store-args.ts";

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

function toEvent(ev: IEvent): WatchEvent {
  const revision = Number(ev.kv.mod_revision);
  const key = ev.kv.key.toString("utf8");
  // The typings say "Put"/"Delete"; the proto loader (enums: String) delivers "PUT"/"DELETE".
  const type = String(ev.type).toUpperCase();
  if (type === "DELETE") return { type: "delete", key, revision };
  if (type !== "PUT") throw new Error(`etcd sent a watch event of unknown type "${type}"`);
  const kv = {
    key,
    value: ev.kv.value.toString("utf8"),
    createRevision: Number(ev.kv.create_revision),
    modRevision: revision,
    version: Number(ev.kv.version),
  };
  return { type: "put", revision, kv: ev.kv.lease === "0" ? kv : { ...kv, lease: ev.kv.lease } };
}

export class EtcdWatch implements Watch {
  private next: number;
  private closed = false;
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private backoffMs = MIN_BACKOFF_MS;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly options: WatchOptions,
    private readonly onClosed: () => void,
  ) {
    this.next = options.fromRevision;
    void this.connect();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.drop();
    this.onClosed();
  }

  /** Ends the watch with `error` (the store is closing). */
  abort(error: Error): void {
    this.fail(error);
  }

  private drop(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    // Half-close first: the library then treats the stream's end as ours, not as a failed member.
    stream.end();
    stream.cancel();
  }

  private fail(error: Error): void {
    if (this.closed) return;
    this.close();
    this.options.onError(error);
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.client.watchClient.watch();
    } catch {
      // Every member is unreachable right now (circuit open): etcd may come back, keep trying.
      this.reconnectLater();
      return;
    }
    if (this.closed) {
      stream.end();
      stream.cancel();
      return;
    }
    this.stream = stream;
    stream.on("data", (res) => {
      if (this.stream === stream) this.onResponse(res);
    });
    const lost = () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.reconnectLater();
    };
    stream.on("error", lost);
    stream.on("end", lost);
    const { key, rangeEnd } = prefixRangeBytes(this.prefix);
    stream.write({ create_request: { key, range_end: rangeEnd, start_revision: this.next } });
  }

  private reconnectLater(): void {
    if (this.closed || this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.connect(), this.backoffMs);
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  private onResponse(res: IWatchResponse): void {
    if (this.closed) return;
    const compactRevision = Number(res.compact_revision);
    if (compactRevision > 0) {
      this.fail(new CompactedError(this.next, compactRevision));
      return;
    }
    if (res.canceled) {
      const reason = res.cancel_reason ?? "";
      if (reason === "" || /no leader|unavailable/i.test(reason)) {
        this.drop();
        this.reconnectLater();
      } else {
        this.fail(new Error(`Watch on "${this.prefix}" was cancelled by etcd: ${reason}`));
      }
      return;
    }
    if (res.created) this.backoffMs = MIN_BACKOFF_MS;
    if (res.events.length === 0) return;
    try {
      const events = res.events.map(toEvent);
      this.next = (events[events.length - 1] as WatchEvent).revision + 1;
      this.options.onEvents(events);
    } catch (e) {
      // The consumer could not take these events: stopping is the only way not to skip them.
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }
}

/**
 * Keeps the cluster zone in step with the node's ClusterView (pure): after a listing the zone is
 * replaced whole; after watch events only the Services the view names as changed are read again
 * (updateKeys: the cost is that of the change, not of every Service), put when their entry is
 * new and deleted when they are gone. The view's index replaces a Service's entry object exactly
 * when that Service or its endpoints were recomputed, so an entry the zone already has is skipped
 * by identity. update(entries) compares every entry the same way, for a caller without the keys.
 */
import type { ClusterZone } from "../dns/cluster-zone.ts";
import { serviceKey } from "../k8s/service-model.ts";
import type { ServiceEntry } from "../proxy/endpoint-index.ts";

export interface FeedResult {
  readonly put: number;
  readonly deleted: number;
}

export class ClusterDnsFeed {
  /** Service key → the entry last given to the zone. */
  private last = new Map<string, ServiceEntry>();

  constructor(private readonly zone: ClusterZone) {}

  /** Replaces the zone's Services with `entries` (ready endpoints only, as the view keeps them). */
  reset(entries: readonly ServiceEntry[]): FeedResult {
    const next = new Map<string, ServiceEntry>();
    for (const e of entries) next.set(serviceKey(e.service), e);
    let deleted = 0;
    for (const k of this.last.keys()) if (!next.has(k)) deleted++;
    this.zone.reset(entries.map((e) => ({ service: e.service, endpoints: e.endpoints })));
    this.last = next;
    return { put: entries.length, deleted };
  }

  /**
   * Puts or deletes the Services named by `keys` (namespace/name), each read with `lookup`
   * (ClusterView.entry): undefined means the Service is gone.
   */
  updateKeys(keys: Iterable<string>, lookup: (key: string) => ServiceEntry | undefined): FeedResult {
    let put = 0;
    let deleted = 0;
    for (const key of keys) {
      const entry = lookup(key);
      const had = this.last.get(key);
      if (entry === undefined) {
        if (had === undefined) continue;
        this.zone.deleteService(key);
        this.last.delete(key);
        deleted++;
      } else if (entry !== had) {
        this.zone.setService(entry.service, entry.endpoints);
        this.last.set(key, entry);
        put++;
      }
    }
    return { put, deleted };
  }

  /** Puts the Services whose entry changed since the last update and deletes those gone. */
  update(entries: readonly ServiceEntry[]): FeedResult {
    const next = new Map<string, ServiceEntry>();
    let put = 0;
    for (const e of entries) {
      const key = serviceKey(e.service);
      next.set(key, e);
      if (this.last.get(key) === e) continue;
      this.zone.setService(e.service, e.endpoints);
      put++;
    }
    let deleted = 0;
    for (const key of this.last.keys()) {
      if (next.has(key)) continue;
      this.zone.deleteService(key);
      deleted++;
    }
    this.last = next;
    return { put, deleted };
  }

  get services(): number {
    return this.last.size;
  }
}

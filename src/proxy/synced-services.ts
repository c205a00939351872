/**
 * The Services as the proxy last synced them (pure): their entries by key, with running counts
 * (Services, endpoints, Services with an IPv6 ClusterIP), so a sync after one change neither
 * walks nor sorts the others. Taking a batch of changes tells which really changed and what each
 * was before — the stale UDP flows are worked out from those pairs.
 */
import type { ServiceEntry } from "./endpoint-index.ts";
import { sameEndpoints, sameService } from "./endpoint-index-namespace.ts";

/** A Service whose entry changed: what it was (undefined: new) and what it is (undefined: gone). */
export type EntryChange = readonly [
  key: string,
  before: ServiceEntry | undefined,
  after: ServiceEntry | undefined,
];

const hasIPv6 = (entry: ServiceEntry): boolean => entry.service.clusterIPs.some((ip) => ip.includes(":"));

export class SyncedServices {
  private readonly entries = new Map<string, ServiceEntry>();
  private endpoints = 0;
  private readonly ipv6 = new Set<string>();

  get size(): number {
    return this.entries.size;
  }

  get endpointCount(): number {
    return this.endpoints;
  }

  /** Whether some Service has an IPv6 ClusterIP (the node then needs an IPv6 table). */
  get anyIPv6(): boolean {
    return this.ipv6.size > 0;
  }

  /** Every Service, unordered. */
  all(): IterableIterator<[string, ServiceEntry]> {
    return this.entries.entries();
  }

  /**
   * The changes that make `listed` (every Service there is) the whole picture. A listing builds
   * new entry objects for every Service; one equal to what was synced counts as no change (10,000
   * Services relisted after a watch failure would otherwise all be rendered again).
   */
  relisted(
    listed: readonly ServiceEntry[],
    keyOf: (entry: ServiceEntry) => string,
  ): [string, ServiceEntry | undefined][] {
    const changes = new Map<string, ServiceEntry | undefined>();
    for (const entry of listed) {
      const key = keyOf(entry);
      const was = this.entries.get(key);
      const same =
        was !== undefined &&
        sameService(was.service, entry.service) &&
        sameEndpoints(was.endpoints, entry.endpoints);
      changes.set(key, same ? was : entry);
    }
    for (const key of this.entries.keys()) if (!changes.has(key)) changes.set(key, undefined);
    return [...changes];
  }

  /** The changes that would change something, without taking them. */
  differing(
    changes: Iterable<readonly [string, ServiceEntry | undefined]>,
  ): (readonly [string, ServiceEntry | undefined])[] {
    return [...changes].filter(([key, after]) => this.entries.get(key) !== after);
  }

  /** Takes the changes; returns those that changed something, with what they were before. */
  take(changes: Iterable<readonly [string, ServiceEntry | undefined]>): EntryChange[] {
    const out: EntryChange[] = [];
    for (const [key, after] of changes) {
      const before = this.entries.get(key);
      if (before === after) continue;
      out.push([key, before, after]);
      this.endpoints += (after?.endpoints.length ?? 0) - (before?.endpoints.length ?? 0);
      if (after === undefined) this.entries.delete(key);
      else this.entries.set(key, after);
      if (after !== undefined && hasIPv6(after)) this.ipv6.add(key);
      else this.ipv6.delete(key);
    }
    return out;
  }
}

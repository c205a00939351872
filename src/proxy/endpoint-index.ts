/**
 * The proxy's picture of the cluster (pure): Services and pod records as the watches report them,
 * and each Service's endpoints kept up to date incrementally. A pod change recomputes only the
 * Services of its namespace, a Service change scans only its namespace's pods, so one event
 * among 10,000 Services and 100,000 pods stays cheap. It also notes the keys of the Services whose
 * entry it replaced or removed (takeChanged), so a follower updates only those, and keeps the
 * sorted list of entries until something changes.
 */
import type { Endpoint, PodRecord, Service } from "../k8s/service-model.ts";
import { endpointsOf, serviceKey } from "../k8s/service-model.ts";

export interface ServiceEntry {
  readonly service: Service;
  readonly endpoints: readonly Endpoint[];
}

const podKey = (p: { node: string; namespace: string; name: string }) => `${p.node}/${p.namespace}/${p.name}`;

function byPodThenIp(a: Endpoint, b: Endpoint): number {
  if (a.pod !== b.pod) return a.pod < b.pod ? -1 : 1;
  return a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0;
}

function namespaced<T>(index: Map<string, Map<string, T>>, ns: string): Map<string, T> {
  let inner = index.get(ns);
  if (inner === undefined) {
    inner = new Map();
    index.set(ns, inner);
  }
  return inner;
}

export class EndpointIndex {
  /** namespace → service key → entry */
  private readonly services = new Map<string, Map<string, ServiceEntry>>();
  /** namespace → node/namespace/name → pod */
  private readonly pods = new Map<string, Map<string, PodRecord>>();
  private serviceCount = 0;
  private podCount = 0;
  /** Keys of the Services whose entry was replaced or removed since the last takeChanged(). */
  private changed = new Set<string>();
  private sorted: ServiceEntry[] | undefined;

  /** Replaces everything (after a list). */
  reset(services: readonly Service[], pods: readonly PodRecord[]): void {
    this.services.clear();
    this.pods.clear();
    this.podCount = 0;
    this.serviceCount = 0;
    this.sorted = undefined;
    for (const pod of pods) this.putPodOnly(pod);
    for (const service of services) this.putService(service);
    this.changed.clear();
  }

  get counts(): { services: number; pods: number } {
    return { services: this.serviceCount, pods: this.podCount };
  }

  putService(service: Service): void {
    const inner = namespaced(this.services, service.namespace);
    const key = serviceKey(service);
    if (!inner.has(key)) this.serviceCount++;
    this.replace(inner, key, { service, endpoints: this.endpointsFor(service) });
  }

  deleteService(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (!this.services.get(namespace)?.delete(key)) return;
    this.serviceCount--;
    this.changed.add(key);
    this.sorted = undefined;
  }

  /** The entry of a Service by its key, namespace/name. */
  entry(key: string): ServiceEntry | undefined {
    const slash = key.indexOf("/");
    return slash < 0 ? undefined : this.services.get(key.slice(0, slash))?.get(key);
  }

  /**
   * The keys of the Services whose entry was replaced or removed since the last call (after
   * reset(), only later changes: a follower takes everything from entries() then).
   */
  takeChanged(): Set<string> {
    const taken = this.changed;
    this.changed = new Set();
    return taken;
  }

  putPod(pod: PodRecord): void {
    const old = this.pods.get(pod.namespace)?.get(podKey(pod));
    this.putPodOnly(pod);
    this.refresh(pod.namespace, [old, pod]);
  }

  deletePod(ref: { node: string; namespace: string; name: string }): void {
    const inner = this.pods.get(ref.namespace);
    const old = inner?.get(podKey(ref));
    if (old === undefined) return;
    inner?.delete(podKey(ref));
    this.podCount--;
    this.refresh(ref.namespace, [old]);
  }

  /** Every Service with its endpoints, sorted by namespace/name (a copy the caller may keep). */
  entries(): ServiceEntry[] {
    if (this.sorted === undefined) {
      const keyed: [string, ServiceEntry][] = [];
      for (const inner of this.services.values()) keyed.push(...inner.entries());
      keyed.sort(([ka], [kb]) => (ka < kb ? -1 : ka > kb ? 1 : 0));
      this.sorted = keyed.map(([, e]) => e);
    }
    return this.sorted.slice();
  }

  private replace(inner: Map<string, ServiceEntry>, key: string, entry: ServiceEntry): void {
    inner.set(key, entry);
    this.changed.add(key);
    this.sorted = undefined;
  }

  private putPodOnly(pod: PodRecord): void {
    const inner = namespaced(this.pods, pod.namespace);
    if (!inner.has(podKey(pod))) this.podCount++;
    inner.set(podKey(pod), pod);
  }

  private endpointsFor(service: Service): Endpoint[] {
    const pods = this.pods.get(service.namespace);
    return pods ? endpointsOf(service, [...pods.values()]).sort(byPodThenIp) : [];
  }

  /** Recomputes the Services of `namespace` that select any of `pods` (before or after). */
  private refresh(namespace: string, pods: readonly (PodRecord | undefined)[]): void {
    const inner = this.services.get(namespace);
    if (inner === undefined) return;
    for (const [key, entry] of inner) {
      const selector = entry.service.selector;
      const keys = Object.keys(selector);
      const touched = pods.some(
        (p) => p !== undefined && keys.length > 0 && keys.every((k) => p.labels[k] === selector[k]),
      );
      if (touched)
        this.replace(inner, key, { service: entry.service, endpoints: this.endpointsFor(entry.service) });
    }
  }
}

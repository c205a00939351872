/**
 * The proxy's picture of the cluster (pure): Services and pod records as the watches report them,
 * and each Service's endpoints kept up to date incrementally. Per namespace (EndpointIndexNamespace)
 * pods are filed by label and Services by a selector term, and each Service keeps the pods it
 * selects: a pod event costs the Services whose selector matches it, each in O(its endpoints), and
 * a Service change costs the pods under its selector term, so one event among 10,000 Services and
 * 100,000 pods stays cheap. An entry is replaced only when its Service record or its endpoints
 * change; the index notes the keys of the entries it replaced or removed (takeChanged), so a
 * follower updates only those, and keeps the sorted list of entries, patched in place while only
 * existing entries are replaced.
 */
import type { PodRecord, Service } from "../k8s/service-model.ts";
import { EndpointIndexNamespace, type ServiceEntry } from "./endpoint-index-namespace.ts";

export type { ServiceEntry } from "./endpoint-index-namespace.ts";

export class EndpointIndex {
  private readonly namespaces = new Map<string, EndpointIndexNamespace>();
  /** Keys of the Services whose entry was replaced or removed since the last takeChanged(). */
  private changed = new Set<string>();
  /** All entries sorted by key, and each key's place in it; undefined after an add or a removal. */
  private sorted: ServiceEntry[] | undefined;
  private readonly position = new Map<string, number>();

  private readonly noted = (key: string, entry: ServiceEntry | undefined): void => {
    this.changed.add(key);
    if (this.sorted === undefined) return;
    const at = entry === undefined ? undefined : this.position.get(key);
    if (at === undefined) this.sorted = undefined;
    else this.sorted[at] = entry as ServiceEntry;
  };

  /** Replaces everything (after a list). */
  reset(services: readonly Service[], pods: readonly PodRecord[]): void {
    this.namespaces.clear();
    this.sorted = undefined;
    // Pods first: with no Services yet they touch nothing, and each Service then takes its pods
    // from its selector term.
    for (const pod of pods) this.putPod(pod);
    for (const service of services) this.putService(service);
    this.changed.clear();
  }

  get counts(): { services: number; pods: number } {
    let services = 0;
    let pods = 0;
    for (const ns of this.namespaces.values()) {
      services += ns.serviceCount;
      pods += ns.podCount;
    }
    return { services, pods };
  }

  putService(service: Service): void {
    this.namespace(service.namespace).putService(service);
  }

  deleteService(namespace: string, name: string): void {
    const ns = this.namespaces.get(namespace);
    if (ns?.deleteService(`${namespace}/${name}`)) this.dropIfEmpty(namespace, ns);
  }

  /** The entry of a Service by its key, namespace/name. */
  entry(key: string): ServiceEntry | undefined {
    const slash = key.indexOf("/");
    return slash < 0 ? undefined : this.namespaces.get(key.slice(0, slash))?.entry(key);
  }

  /**
   * The keys of the Services whose entry was replaced or removed since the last call (after
   * reset(), only later changes: a follower takes everything from entries() then). An entry is
   * replaced only when its Service record or its endpoints changed.
   */
  takeChanged(): Set<string> {
    const taken = this.changed;
    this.changed = new Set();
    return taken;
  }

  putPod(pod: PodRecord): void {
    this.namespace(pod.namespace).putPod(pod);
  }

  deletePod(ref: { node: string; namespace: string; name: string }): void {
    const ns = this.namespaces.get(ref.namespace);
    if (ns?.deletePod(ref.node, ref.name)) this.dropIfEmpty(ref.namespace, ns);
  }

  /** Every Service with its endpoints, sorted by namespace/name (a copy the caller may keep). */
  entries(): ServiceEntry[] {
    if (this.sorted === undefined) {
      const keyed: [string, ServiceEntry][] = [];
      for (const ns of this.namespaces.values()) for (const kv of ns.entries()) keyed.push(kv);
      keyed.sort(([ka], [kb]) => (ka < kb ? -1 : ka > kb ? 1 : 0));
      this.position.clear();
      for (let i = 0; i < keyed.length; i++) this.position.set((keyed[i] as [string, ServiceEntry])[0], i);
      this.sorted = keyed.map(([, e]) => e);
    }
    return this.sorted.slice();
  }

  private namespace(name: string): EndpointIndexNamespace {
    let ns = this.namespaces.get(name);
    if (ns === undefined) {
      ns = new EndpointIndexNamespace(this.noted);
      this.namespaces.set(name, ns);
    }
    return ns;
  }

  /** A namespace whose last pod and Service went holds nothing worth keeping. */
  private dropIfEmpty(name: string, ns: EndpointIndexNamespace): void {
    if (ns.serviceCount === 0 && ns.podCount === 0) this.namespaces.delete(name);
  }
}

/**
 * One namespace of the EndpointIndex (pure): its pod records, its Services, and for each Service
 * the pods its selector matches. Pods are filed under every label term and Services under one
 * term of their selector (SelectorIndex), so a pod event costs the Services it can touch, each in
 * O(its endpoints), and a Service change costs the pods under its term.
 */
import type { Endpoint, PodRecord, Service } from "../k8s/service-model.ts";
import { endpointsOf, sameLabels, selects, serviceKey } from "../k8s/service-model.ts";
import { SelectorIndex } from "./selector-index.ts";

export interface ServiceEntry {
  readonly service: Service;
  readonly endpoints: readonly Endpoint[];
}

/** Called when an entry is replaced (or added), or with undefined when it is removed. */
export type EntryListener = (key: string, entry: ServiceEntry | undefined) => void;

interface ServiceState {
  entry: ServiceEntry;
  /**
   * Every pod of the namespace the selector matches, ready or not, in no order (the records
   * themselves, no copies; an array costs a third of a Map). The entry's endpoints are
   * `endpointsOf` these, sorted.
   */
  readonly selected: PodRecord[];
  /**
   * The key of the selector term the Service is filed under (its value is the selector's);
   * undefined for an empty selector (selects nothing).
   */
  readonly term: string | undefined;
}

/**
 * Endpoints by pod, then IP, then node. The node only orders records of one pod name on two nodes
 * (a pod moved, the old node's record not yet gone) that share an IP; without it their order would
 * depend on the order of the events.
 */
export function byPodThenIp(a: Endpoint, b: Endpoint): number {
  if (a.pod !== b.pod) return a.pod < b.pod ? -1 : 1;
  if (a.ip !== b.ip) return a.ip < b.ip ? -1 : 1;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

export function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Endpoint;
    const y = b[i] as Endpoint;
    if (x !== y && (x.ip !== y.ip || x.node !== y.node || x.pod !== y.pod)) return false;
  }
  return true;
}

/** Structural equality of two Service records (a re-put of the same record changes nothing). */
export function sameService(a: Service, b: Service): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function sortedEndpoints(service: Service, selected: readonly PodRecord[]): Endpoint[] {
  return endpointsOf(service, selected).sort(byPodThenIp);
}

export class EndpointIndexNamespace {
  /**
   * node → pod name → pod. Keyed by the record's own strings: a "node/name" key per pod would be
   * one more string per pod (100,000 of them at the scale the proxy is built for).
   */
  private readonly pods = new Map<string, Map<string, PodRecord>>();
  private podTotal = 0;
  /** namespace/name → Service */
  private readonly services = new Map<string, ServiceState>();
  /** The records themselves, filed under their labels' terms. */
  private readonly podsByTerm = new SelectorIndex<PodRecord>();
  private readonly servicesByTerm = new SelectorIndex<ServiceState>();
  private readonly candidates = new Set<ServiceState>();

  constructor(private readonly listener: EntryListener) {}

  get serviceCount(): number {
    return this.services.size;
  }

  get podCount(): number {
    return this.podTotal;
  }

  entry(key: string): ServiceEntry | undefined {
    return this.services.get(key)?.entry;
  }

  /** Every Service key with its entry. */
  *entries(): Generator<[string, ServiceEntry]> {
    for (const [key, state] of this.services) yield [key, state.entry];
  }

  putService(service: Service): void {
    const key = serviceKey(service);
    const old = this.services.get(key);
    if (old !== undefined && sameLabels(old.entry.service.selector, service.selector)) {
      // Same selector, same pods: only the Service record may have changed.
      if (!sameService(old.entry.service, service)) {
        old.entry = { service, endpoints: old.entry.endpoints };
        this.listener(key, old.entry);
      }
      return;
    }
    if (old !== undefined) this.unfile(old);
    const term = this.termFor(service.selector);
    const selected: PodRecord[] = [];
    if (term !== undefined)
      for (const pod of this.podsByTerm.withTerm(term, service.selector[term] as string))
        if (selects(service.selector, pod.labels)) selected.push(pod);
    const endpoints = sortedEndpoints(service, selected);
    const state: ServiceState = { entry: { service, endpoints }, selected, term };
    this.services.set(key, state);
    if (term !== undefined) this.servicesByTerm.add(term, service.selector[term] as string, state);
    this.listener(key, state.entry);
  }

  /** False when there is no such Service. */
  deleteService(key: string): boolean {
    const state = this.services.get(key);
    if (state === undefined) return false;
    this.services.delete(key);
    this.unfile(state);
    this.listener(key, undefined);
    return true;
  }

  putPod(pod: PodRecord): void {
    let onNode = this.pods.get(pod.node);
    if (onNode === undefined) {
      onNode = new Map();
      this.pods.set(pod.node, onNode);
    }
    const old = onNode.get(pod.name);
    onNode.set(pod.name, pod);
    if (old === undefined) this.podTotal++;
    else this.podsByTerm.deleteLabels(old.labels, old);
    this.podsByTerm.addLabels(pod.labels, pod);
    this.podChanged(old, pod);
  }

  /** False when there is no such pod. */
  deletePod(node: string, name: string): boolean {
    const onNode = this.pods.get(node);
    const old = onNode?.get(name);
    if (onNode === undefined || old === undefined) return false;
    onNode.delete(name);
    if (onNode.size === 0) this.pods.delete(node);
    this.podTotal--;
    this.podsByTerm.deleteLabels(old.labels, old);
    this.podChanged(old, undefined);
    return true;
  }

  private unfile(state: ServiceState): void {
    const term = state.term;
    if (term !== undefined)
      this.servicesByTerm.delete(term, state.entry.service.selector[term] as string, state);
  }

  /**
   * The key of the term to file a Service under: the one with the fewest pods now (what a Service change
   * scans), then the fewest Services (what a pod event checks).
   */
  private termFor(selector: Readonly<Record<string, string>>): string | undefined {
    let best: string | undefined;
    let bestPods = 0;
    let bestServices = 0;
    for (const key of Object.keys(selector)) {
      const value = selector[key] as string;
      const pods = this.podsByTerm.count(key, value);
      const services = this.servicesByTerm.count(key, value);
      if (best === undefined || pods < bestPods || (pods === bestPods && services < bestServices)) {
        best = key;
        bestPods = pods;
        bestServices = services;
      }
    }
    return best;
  }

  /** Updates the Services that select the pod before or after; replaces the entries that changed. */
  private podChanged(old: PodRecord | undefined, now: PodRecord | undefined): void {
    // One Set for every event, emptied after use: a new Set per pod event is garbage that, over
    // 100,000 pods listed, leaves the index's long-lived cells on sparse heap pages.
    const candidates = this.candidates;
    candidates.clear();
    if (old !== undefined) this.servicesByTerm.collect(old.labels, candidates);
    if (now !== undefined) this.servicesByTerm.collect(now.labels, candidates);
    if (candidates.size === 0) return;
    const ref = (now ?? old) as PodRecord;
    // A pod gives every Service that selects it the same endpoints: build them once (the Services
    // share the objects) and compare them once.
    let added: Endpoint[] | undefined;
    let same: boolean | undefined;
    let podName: string | undefined;
    for (const state of candidates) {
      const service = state.entry.service;
      const selected = state.selected;
      const at = selected.findIndex((p) => p.name === ref.name && p.node === ref.node);
      const was = at >= 0;
      const is = now !== undefined && selects(service.selector, now.labels);
      if (is) selected[was ? at : selected.length] = now;
      else if (was) {
        selected[at] = selected[selected.length - 1] as PodRecord;
        selected.pop();
      } else continue;
      if (is) added ??= endpointsOf(service, [now]);
      if (was && is) {
        same ??= sameEndpoints(endpointsOf(service, [old as PodRecord]), added as Endpoint[]);
        if (same) continue; // a label or field the Service ignores
      }
      // The other pods' endpoints are kept as they are (the same objects): only this pod's are
      // taken out and put back, so a pod event allocates for one pod, not for the whole Service.
      const current = state.entry.endpoints;
      let endpoints: Endpoint[];
      if (was) {
        podName ??= `${ref.namespace}/${ref.name}`;
        endpoints = current.filter((e) => e.pod !== podName || e.node !== ref.node);
      } else if (added === undefined || added.length === 0) continue;
      else endpoints = current.slice();
      if (is && added !== undefined && added.length > 0) {
        for (const e of added) endpoints.push(e);
        endpoints.sort(byPodThenIp);
      }
      if (sameEndpoints(endpoints, current)) continue;
      state.entry = { service, endpoints };
      this.listener(serviceKey(service), state.entry);
    }
    candidates.clear();
  }
}

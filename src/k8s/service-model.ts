/**
 * Kubernetes-style Services as podnet keeps them in the datastore (pure types and validation).
 * A Service has a stable ClusterIP (from the service CIDR, or requested), ports with protocols
 * and target ports, an optional NodePort per port, session affinity, and a selector; its
 * endpoints are the ready pods whose labels match the selector. A headless Service has no
 * ClusterIP and no NodePorts: the proxy leaves it alone, and cluster DNS answers its name with
 * the addresses of its ready endpoints.
 *
 * Families follow Kubernetes (KEP-563): `ipFamilies` lists the Service's families, primary first,
 * one ClusterIP each; `ipFamilyPolicy` says how they were chosen. Cluster DNS and `podnet
 * service` show only the endpoint addresses of those families (`ofServiceFamilies`).
 */
import { tryParseIP } from "../ipnet/address.ts";

export type Protocol = "TCP" | "UDP" | "SCTP";
export const PROTOCOLS: readonly Protocol[] = ["TCP", "UDP", "SCTP"];

export interface ServicePort {
  /** Optional port name (unique within the Service when there are several ports). */
  readonly name?: string;
  readonly protocol: Protocol;
  /** The port clients connect to on the ClusterIP. */
  readonly port: number;
  /** The port on the pods (defaults to `port`). */
  readonly targetPort: number;
  /** 30000–32767, reachable on every node's IP. */
  readonly nodePort?: number;
}

export type SessionAffinity =
  | { readonly kind: "None" }
  | { readonly kind: "ClientIP"; readonly timeoutSeconds: number };

/** Kubernetes' `ipFamilies` entries and `ipFamilyPolicy` (KEP-563). */
export type IPFamily = "IPv4" | "IPv6";
export type IPFamilyPolicy = "SingleStack" | "PreferDualStack" | "RequireDualStack";
export const IP_FAMILY_POLICIES: readonly IPFamilyPolicy[] = [
  "SingleStack",
  "PreferDualStack",
  "RequireDualStack",
];
export const IP_FAMILIES: readonly IPFamily[] = ["IPv4", "IPv6"];

export function isIPFamily(v: unknown): v is IPFamily {
  return (IP_FAMILIES as readonly unknown[]).includes(v);
}

export function isIPFamilyPolicy(v: unknown): v is IPFamilyPolicy {
  return (IP_FAMILY_POLICIES as readonly unknown[]).includes(v);
}

/** "IPv4" for 4, "IPv6" for 6. */
export function ipFamilyName(family: 4 | 6): IPFamily {
  return family === 4 ? "IPv4" : "IPv6";
}

/** 4 for "IPv4", 6 for "IPv6". */
export function ipFamilyNumber(family: IPFamily): 4 | 6 {
  return family === "IPv4" ? 4 : 6;
}

/** The family of an address as Kubernetes names it, or undefined for text that is no address. */
export function ipFamilyOf(ip: string): IPFamily | undefined {
  const parsed = tryParseIP(ip);
  return parsed === undefined ? undefined : ipFamilyName(parsed.family);
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  /**
   * Kubernetes' `clusterIP: None`: no ClusterIP, no NodePorts, no proxy rules. Present only when
   * true; records written before headless Services existed have no such field.
   */
  readonly headless?: true;
  /** One per family the Service has (IPv4 and/or IPv6); empty exactly when the Service is headless. */
  readonly clusterIPs: readonly string[];
  /**
   * The Service's families, primary first; `clusterIPs[i]` is of family `ipFamilies[i]`. Absent
   * in records written before Services had families: read them with `serviceFamilies`.
   */
  readonly ipFamilies?: readonly IPFamily[];
  /** Absent in records written before Services had families: see `serviceIpFamilyPolicy`. */
  readonly ipFamilyPolicy?: IPFamilyPolicy;
  readonly ports: readonly ServicePort[];
  readonly sessionAffinity: SessionAffinity;
  /** Label selector (all must match); empty selects nothing. */
  readonly selector: Readonly<Record<string, string>>;
}

/** A pod as an endpoint candidate: where it lives and what it is labelled. */
export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly ips: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Whether the pod passes its readiness check. Absent means ready: records of agents that do
   * not check readiness, and of pods that declare no check, have no such field.
   */
  readonly ready?: boolean;
}

export interface Endpoint {
  readonly ip: string;
  readonly node: string;
  /** namespace/name of the pod. */
  readonly pod: string;
}

export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
/** Whether two label maps (or selectors) hold the same keys with the same values. */
export function sameLabels(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** Kubernetes' default ClientIP affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

export function serviceKey(s: { readonly namespace: string; readonly name: string }): string {
  return `${s.namespace}/${s.name}`;
}

export function selects(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels[k] === selector[k]);
}

/**
 * The Service's families, primary first. A record written before Services had families is read
 * as the families of its ClusterIPs in order; an old headless one as both, since its name
 * answered with every endpoint address.
 */
export function serviceFamilies(s: Pick<Service, "ipFamilies" | "clusterIPs" | "headless">): IPFamily[] {
  if (s.ipFamilies !== undefined) return [...s.ipFamilies];
  if (isHeadless(s)) return [...IP_FAMILIES];
  const families: IPFamily[] = [];
  for (const ip of s.clusterIPs) {
    const f = ipFamilyOf(ip);
    if (f !== undefined && !families.includes(f)) families.push(f);
  }
  return families;
}

/**
 * The Service's policy. A record written before Services had families is RequireDualStack when
 * it holds two ClusterIPs (or is headless, answering every family) and SingleStack otherwise:
 * what the proxy and DNS already did with it.
 */
export function serviceIpFamilyPolicy(
  s: Pick<Service, "ipFamilyPolicy" | "ipFamilies" | "clusterIPs" | "headless">,
): IPFamilyPolicy {
  if (s.ipFamilyPolicy !== undefined) return s.ipFamilyPolicy;
  return serviceFamilies(s).length === 2 ? "RequireDualStack" : "SingleStack";
}

export function isHeadless(service: Pick<Service, "headless" | "clusterIPs">): boolean {
  return service.headless === true || service.clusterIPs.length === 0;
}

/** Absent counts as ready (see PodRecord.ready). */
export function isReady(pod: Pick<PodRecord, "ready">): boolean {
  return pod.ready !== false;
}

/** The pods in the Service's namespace that its selector matches, ready or not. */
export function selectedPods(service: Service, pods: readonly PodRecord[]): PodRecord[] {
  return pods.filter((p) => p.namespace === service.namespace && selects(service.selector, p.labels));
}

/**
 * The addresses of the pods `service` selects whose readiness is `ready`. One loop and one array:
 * the proxy builds these for 10,000 Services, and the short-lived arrays of filter/flatMap chains
 * leave the long-lived endpoints scattered over half-empty heap blocks (measured: about three
 * times the resident memory).
 */
function addressesOf(service: Service, pods: readonly PodRecord[], ready: boolean): Endpoint[] {
  const out: Endpoint[] = [];
  for (const p of pods) {
    if (p.namespace !== service.namespace || isReady(p) !== ready || !selects(service.selector, p.labels))
      continue;
    // One name string per pod, shared by its addresses.
    let pod: string | undefined;
    for (const ip of p.ips) {
      pod ??= `${p.namespace}/${p.name}`;
      out.push({ ip, node: p.node, pod });
    }
  }
  return out;
}

/**
 * The endpoints of a Service: the addresses of the ready pods in its namespace that its selector
 * matches. Only these get traffic and DNS answers (Kubernetes' EndpointSlice `ready` condition).
 * Addresses of every family are listed; the proxy takes each family's for the ClusterIP of that
 * family, and `ofServiceFamilies` keeps those of the Service's families.
 */
export function endpointsOf(service: Service, pods: readonly PodRecord[]): Endpoint[] {
  return addressesOf(service, pods, true);
}

/** The addresses of selected pods that are not ready (Kubernetes' `notReadyAddresses`). */
export function notReadyEndpointsOf(service: Service, pods: readonly PodRecord[]): Endpoint[] {
  return addressesOf(service, pods, false);
}

/**
 * The endpoints of the Service's families only, as Kubernetes keeps one EndpointSlice per
 * family of `ipFamilies`: a SingleStack IPv4 Service has no IPv6 endpoint, so its headless name
 * has no AAAA.
 */
export function ofServiceFamilies<E extends { readonly ip: string }>(
  service: Pick<Service, "ipFamilies" | "clusterIPs" | "headless">,
  endpoints: readonly E[],
): E[] {
  const families = serviceFamilies(service);
  return endpoints.filter((e) => {
    const f = ipFamilyOf(e.ip);
    return f !== undefined && families.includes(f);
  });
}

/**
 * Kubernetes-style Services as podnet keeps them in the datastore (pure types and validation).
 * A Service has a stable ClusterIP (from the service CIDR, or requested), ports with protocols
 * and target ports, an optional NodePort per port, session affinity, and a selector; its
 * endpoints are the ready pods whose labels match the selector. A headless Service has no
 * ClusterIP and no NodePorts: the proxy leaves it alone, and cluster DNS answers its name with
 * the addresses of its ready endpoints.
 */

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

function addressesOf(pods: readonly PodRecord[]): Endpoint[] {
  return pods.flatMap((p) => p.ips.map((ip) => ({ ip, node: p.node, pod: `${p.namespace}/${p.name}` })));
}

/**
 * The endpoints of a Service: the addresses of the ready pods in its namespace that its selector
 * matches. Only these get traffic and DNS answers (Kubernetes' EndpointSlice `ready` condition).
 */
export function endpointsOf(service: Service, pods: readonly PodRecord[]): Endpoint[] {
  return addressesOf(selectedPods(service, pods).filter(isReady));
}

/** The addresses of selected pods that are not ready (Kubernetes' `notReadyAddresses`). */
export function notReadyEndpointsOf(service: Service, pods: readonly PodRecord[]): Endpoint[] {
  return addressesOf(selectedPods(service, pods).filter((p) => !isReady(p)));
}

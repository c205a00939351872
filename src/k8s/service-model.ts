/**
 * Kubernetes-style Services as podnet keeps them in the datastore (pure types and validation).
 * A Service has a stable ClusterIP (from the service CIDR, or requested), ports with protocols
 * and target ports, an optional NodePort per port, session affinity, and a selector; its
 * endpoints are the pods whose labels match the selector.
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
  /** One per family the Service has (IPv4 and/or IPv6). */
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

/** The endpoints of a Service: pods in its namespace that its selector matches. */
export function endpointsOf(service: Service, pods: readonly PodRecord[]): Endpoint[] {
  return pods
    .filter((p) => p.namespace === service.namespace && selects(service.selector, p.labels))
    .flatMap((p) => p.ips.map((ip) => ({ ip, node: p.node, pod: `${p.namespace}/${p.name}` })));
}

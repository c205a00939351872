/**
 * The proxy benchmark's synthetic cluster (pure): N Services with one TCP port each and E
 * endpoints per Service, with addresses that only ever exist inside the benchmark's namespaces —
 * ClusterIPs from 10.96.0.0/12, endpoints from 10.244.0.0 upwards in the pod range 10.240.0.0/12
 * (10,000 × 10 endpoints do not fit a /16). Addresses are a function of the indices, so the
 * client inside a namespace can tell which endpoints a ClusterIP may be translated to without
 * being told.
 */
import type { Endpoint, Service } from "../../src/k8s/service-model.ts";
import type { ProxyInput } from "../../src/proxy/ruleset.ts";

export const SERVICE_CIDR = "10.96.0.0/12";
export const POD_CIDR = "10.240.0.0/12";
export const SERVICE_PORT = 80;
export const TARGET_PORT = 8080;
const SERVICE_BASE = ipv4ToNumber("10.96.0.0");
const SERVICE_SIZE = 2 ** 20;
/** First octets of the endpoint range: 10.244.0.0 is inside POD_CIDR and reads like a pod address. */
const ENDPOINT_FIRST = 244;
/** Pod addresses per /24 "node block": .1 to .250, so no address looks like a network or broadcast. */
const HOSTS_PER_BLOCK = 250;
/** Blocks available from 10.244.0.0 to the end of 10.240.0.0/12 (10.255.255.0/24). */
const ENDPOINT_BLOCKS = (256 - ENDPOINT_FIRST) * 256;

export class AddressSpaceError extends Error {
  override readonly name = "AddressSpaceError";
}

export function ipv4ToNumber(text: string): number {
  const parts = text.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new AddressSpaceError(`"${text}" is not an IPv4 address`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** ClusterIP of Service `index` (10.96.0.1 for the first: .0 of the range is never handed out). */
export function clusterIpOf(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= SERVICE_SIZE - 2)
    throw new AddressSpaceError(`Cannot give Service #${index} a ClusterIP in "${SERVICE_CIDR}"`);
  return numberToIpv4(SERVICE_BASE + 1 + index);
}

/** The pod address number `serial` (0, 1, ...): 10.244.0.1 … 10.244.0.250, 10.244.1.1, … */
export function podIpOf(serial: number): string {
  const block = Math.floor(serial / HOSTS_PER_BLOCK);
  if (!Number.isInteger(serial) || serial < 0 || block >= ENDPOINT_BLOCKS)
    throw new AddressSpaceError(`Cannot give pod #${serial} an address in "${POD_CIDR}"`);
  const host = (serial % HOSTS_PER_BLOCK) + 1;
  return `10.${ENDPOINT_FIRST + Math.floor(block / 256)}.${block % 256}.${host}`;
}

/** The pod serial of endpoint `endpoint` of Service `service` when nothing has changed. */
export function endpointSerial(service: number, endpoint: number, endpointsPerService: number): number {
  return service * endpointsPerService + endpoint;
}

export interface BenchCluster {
  readonly services: number;
  readonly endpointsPerService: number;
  /** This node's address (where NodePorts would answer; none are defined here). */
  readonly nodeIP: string;
}

export function benchService(index: number): Service {
  const name = `svc-${String(index).padStart(5, "0")}`;
  return {
    namespace: "bench",
    name,
    clusterIPs: [clusterIpOf(index)],
    ports: [{ name: "http", protocol: "TCP", port: SERVICE_PORT, targetPort: TARGET_PORT }],
    sessionAffinity: { kind: "None" },
    selector: { app: name },
  };
}

export function benchEndpoint(service: number, serial: number): Endpoint {
  const ip = podIpOf(serial);
  // Pods of one Service spread over nodes as a scheduler would spread replicas.
  return {
    ip,
    node: `node-${Math.floor(serial / HOSTS_PER_BLOCK)}`,
    pod: `bench/svc-${service}-pod-${serial}`,
  };
}

/** The ProxyInput of a node in this cluster: Services in index order, egress masquerade on. */
export function benchInput(cluster: BenchCluster): ProxyInput {
  const services: ProxyInput["services"][number][] = [];
  for (let s = 0; s < cluster.services; s++) {
    const endpoints: Endpoint[] = [];
    for (let e = 0; e < cluster.endpointsPerService; e++)
      endpoints.push(benchEndpoint(s, endpointSerial(s, e, cluster.endpointsPerService)));
    services.push({ service: benchService(s), endpoints });
  }
  return {
    family: "ip",
    services,
    nodeIPs: [cluster.nodeIP],
    podCidrs: [POD_CIDR],
    nonMasqueradeCidrs: [POD_CIDR, SERVICE_CIDR],
    masqueradeEgress: true,
    // The node that renders: its own pods (250 of the 100,000) are the ones that can hairpin.
    nodeName: "node-0",
  };
}

/**
 * `input` with endpoint `endpoint` of Service `service` replaced by the pod with serial `serial`
 * (a rescheduled pod). Every other Service entry is the same object, as a proxy's cache would hand
 * them over, so only the changed one looks new to the renderer.
 */
export function replaceEndpoint(
  input: ProxyInput,
  service: number,
  endpoint: number,
  serial: number,
): ProxyInput {
  const entry = input.services[service];
  if (entry === undefined)
    throw new RangeError(`Service #${service} is not in the input (${input.services.length} Services)`);
  if (endpoint < 0 || endpoint >= entry.endpoints.length)
    throw new RangeError(
      `Service #${service} has no endpoint #${endpoint} (it has ${entry.endpoints.length})`,
    );
  const endpoints = entry.endpoints.map((ep, i) => (i === endpoint ? benchEndpoint(service, serial) : ep));
  const services = input.services.map((s, i) => (i === service ? { service: s.service, endpoints } : s));
  return { ...input, services };
}

/** `count` distinct indices below `n`, drawn with `random` (partial Fisher–Yates). */
export function distinctIndices(n: number, count: number, random: () => number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  const k = Math.min(n, count);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  return pool.slice(0, k);
}

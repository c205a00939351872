/**
 * Names of the shared chains and sets, and of the per-service ones (only ClientIP-affinity
 * Services have those). A per-service name is `<kind>-<hash>-<readable>`: the readable
 * part lets `nft list table ip podnet` be read by a human ("svc-…-default/web/tcp/80"), the hash of
 * the exact identity keeps names unique when the readable part had to be cleaned or shortened.
 * Names depend only on identity, never on order, so an unchanged service keeps its names across
 * renders and a partial sync leaves it alone.
 */
import type { Protocol } from "../k8s/service-model.ts";

/** Names of the table's shared chains and sets. */
export const NAMES = {
  natPrerouting: "nat-prerouting",
  natOutput: "nat-output",
  natPostrouting: "nat-postrouting",
  filterPrerouting: "filter-prerouting",
  filterOutput: "filter-output",
  services: "services",
  rejectCheck: "reject-check",
  reject: "reject-service",
  podCidrs: "pod-cidrs",
  noMasquerade: "no-masquerade",
  nodeportIPs: "nodeport-ips",
  clusterIPs: "cluster-ips",
  serviceIps: "service-ips",
  serviceNodeports: "service-nodeports",
  noEndpointNodeports: "no-endpoint-nodeports",
  hairpin: "hairpin",
} as const;

/** The Service protocols as nft writes them (`tcp dport`). */
export type Proto = "tcp" | "udp" | "sctp";
export const PROTOS: readonly Proto[] = ["tcp", "udp", "sctp"];

/**
 * The endpoint maps are per protocol: their data is declared as `daddr . tcp dport` (udp, sctp),
 * and nft derives a protocol match from that for the rules that use them.
 */
export function serviceEndpointsMap(proto: Proto): string {
  return `service-endpoints-${proto}`;
}

export function nodePortEndpointsMap(proto: Proto): string {
  return `nodeport-endpoints-${proto}`;
}

/** The shared chain that DNATs ClusterIP traffic of `proto` Services with `count` endpoints. */
export function endpointsChainName(proto: Proto, count: number): string {
  return `endpoints-${proto}-${count}`;
}

/** The shared chain that DNATs NodePort traffic of `proto` Services with `count` endpoints. */
export function nodePortEndpointsChainName(proto: Proto, count: number): string {
  return `nodeport-endpoints-${proto}-${count}`;
}

/** One port of one Service, in one address family (its ClusterIP is of that family). */
export interface ServicePortId {
  readonly service: string;
  readonly protocol: Protocol;
  readonly port: number;
}

// nft identifiers are letters, digits and `/ _ . -` (nft's scanner); NFT_NAME_MAXLEN is 256.
const MAX_READABLE = 200;

function readable(text: string): string {
  const cleaned = text.replace(/:/g, ".").replace(/[^A-Za-z0-9/_.-]/g, "_");
  return cleaned.length > MAX_READABLE ? cleaned.slice(0, MAX_READABLE) : cleaned;
}

/** cyrb53: a fast 53-bit string hash; 40 bits of it (8 base-32 digits) go into a name. */
function hash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const value = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return value.toString(32).padStart(11, "0").slice(-8);
}

function portText(id: ServicePortId): string {
  return `${id.service}/${id.protocol.toLowerCase()}/${id.port}`;
}

function named(kind: string, identity: string, text: string): string {
  return `${kind}-${hash(`${kind}|${identity}`)}-${readable(text)}`;
}

/** The chain that picks an endpoint for a ClientIP-affinity service port (ClusterIP and NodePort traffic). */
export function serviceChainName(id: ServicePortId): string {
  const text = portText(id);
  return named("svc", text, text);
}

/** The chain a ClientIP-affinity Service's NodePort traffic enters first: it marks for masquerade, then goes to the service chain. */
export function externalChainName(id: ServicePortId): string {
  const text = portText(id);
  return named("ext", text, text);
}

/** The chain that DNATs to one endpoint of a service port. */
export function endpointChainName(id: ServicePortId, ip: string, targetPort: number): string {
  const text = `${portText(id)}__${ip}/${targetPort}`;
  return named("ep", text, text);
}

/**
 * The affinity set of one endpoint of a service port. The timeout is part of the identity so a
 * changed timeout yields a new set (a set's declaration cannot change in place).
 */
export function affinitySetName(
  id: ServicePortId,
  ip: string,
  targetPort: number,
  timeoutSeconds: number,
): string {
  const text = `${portText(id)}__${ip}/${targetPort}`;
  return named("aff", `${text}|${timeoutSeconds}`, text);
}

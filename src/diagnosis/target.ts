/**
 * What a SOURCE or DESTINATION argument of `podnet trace` names, resolved against the datastore
 * snapshot (pure): a pod, a node, a Service (by name or ClusterIP), a NodePort on a node's IP, or
 * an address outside all of them. The text forms are IP, IP:PORT, [v6]:PORT, ns/name,
 * ns/name:PORT, name, name:PORT; the caller strips "/tcp|/udp|/icmp" first.
 *
 * Ambiguity: "ns/name" without a port prefers the pod, with a port the Service; a bare name that
 * is both a node and a pod is the node. A node's gateway (its block's .1) and VTEP address (the
 * block's network address, VXLAN backends) resolve to the node, with that address.
 */

import type { NodeRecord } from "../cluster/node-record.ts";
import { canonicalIP, formatIP, sameIP, tryParseIP } from "../ipnet/address.ts";
import { containsIP, firstIP, nthIP, parsePrefix } from "../ipnet/prefix.ts";
import type { PodRecord, Protocol, Service, ServicePort } from "../k8s/service-model.ts";
import { isHeadless } from "../k8s/service-model.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";

export type ResolvedTarget =
  /** "ns/name", "name" (namespace default) or a pod IP; `port` when one was given. */
  | { readonly kind: "pod"; readonly ip: string; readonly pod: PodRecord; readonly port?: number }
  /** A node name, node IP, gateway or VTEP address (without a NodePort). */
  | { readonly kind: "node"; readonly ip: string; readonly node: NodeRecord; readonly port?: number }
  /** "ns/name[:port]" of a Service or ClusterIP[:port]; `protocol` when exactly one port of the Service has that number. */
  | {
      readonly kind: "service";
      readonly ip: string;
      readonly service: Service;
      readonly port?: number;
      readonly protocol?: Protocol;
    }
  /** NODE-IP:NODEPORT (or NODE:NODEPORT). */
  | {
      readonly kind: "node-port";
      readonly ip: string;
      readonly port: number;
      readonly node?: NodeRecord;
      readonly service: Service;
      readonly servicePort: ServicePort;
    }
  /**
   * Any other address. `block` when it lies in a node's pod block although no pod record holds it
   * (an allocation whose record is gone, a released or never-used address): that node delivers or
   * refuses it.
   */
  | {
      readonly kind: "external";
      readonly ip: string;
      readonly port?: number;
      readonly block?: { readonly node: string; readonly block: string };
    };

export class TargetError extends Error {
  override readonly name = "TargetError";
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {
    super(`Cannot trace "${text}": ${reason}`);
  }
}

/** An address and optional port as written: "10.0.0.1", "10.0.0.1:80", "[2001:db8::1]:80", "2001:db8::1". */
export interface HostPort {
  readonly host: string;
  readonly port?: number;
}

/** Parses a port written in a target; undefined when `text` is not 1–65535 in decimal. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Splits HOST[:PORT] ([v6]:PORT for IPv6), without checking what HOST is. An IPv6 address
 * without brackets is taken whole. Throws TargetError on a bad port or bracket.
 */
export function splitHostPort(text: string): HostPort {
  if (text.startsWith("[")) {
    const m = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
    if (!m?.[1])
      throw new TargetError(text, "a bracketed IPv6 address must be written [ADDRESS] or [ADDRESS]:PORT");
    if (m[2] === undefined) return { host: m[1] };
    return { host: m[1], port: portOf(text, m[2]) };
  }
  const colons = text.split(":").length - 1;
  if (colons !== 1) return { host: text };
  const at = text.indexOf(":");
  return { host: text.slice(0, at), port: portOf(text, text.slice(at + 1)) };
}

function portOf(text: string, portText: string): number {
  const port = parsePort(portText);
  if (port === undefined) throw new TargetError(text, `port "${portText}" is not a number from 1 to 65535`);
  return port;
}

/** Whether a node of this backend has a VXLAN device (host-gw and bgp have none: no VTEP address). */
export function hasVtep(backend: string): boolean {
  return backend !== "host-gw" && backend !== "bgp";
}

/** The addresses a node answers on: node IPs, gateways (block .1) and, with VXLAN, VTEP addresses (block .0). */
export function nodeAddresses(node: NodeRecord): string[] {
  const out = node.nodeIPs.map((ip) => canonicalIP(ip) ?? ip);
  for (const text of node.blocks) {
    const block = safePrefix(text);
    if (!block) continue;
    out.push(formatIP(nthIP(block, 1n)));
    if (hasVtep(node.backend)) out.push(formatIP(firstIP(block)));
  }
  return out;
}

function safePrefix(text: string) {
  try {
    return parsePrefix(text);
  } catch {
    return undefined;
  }
}

function withPort<T extends object>(value: T, port: number | undefined): T & { port?: number } {
  return port === undefined ? value : { ...value, port };
}

function serviceTarget(service: Service, ip: string, port: number | undefined): ResolvedTarget {
  if (port === undefined) return { kind: "service", ip, service };
  const matching = service.ports.filter((p) => p.port === port);
  const only = matching.length === 1 ? matching[0] : undefined;
  return only
    ? { kind: "service", ip, service, port, protocol: only.protocol }
    : { kind: "service", ip, service, port };
}

function nodePortOf(
  snapshot: ClusterSnapshot,
  port: number,
): { service: Service; servicePort: ServicePort } | undefined {
  for (const view of snapshot.services) {
    const servicePort = view.service.ports.find((p) => p.nodePort === port);
    if (servicePort) return { service: view.service, servicePort };
  }
  return undefined;
}

function nodeTarget(
  snapshot: ClusterSnapshot,
  node: NodeRecord,
  ip: string,
  port: number | undefined,
): ResolvedTarget {
  const nodePort = port === undefined ? undefined : nodePortOf(snapshot, port);
  if (port !== undefined && nodePort && node.nodeIPs.some((n) => sameIP(n, ip))) {
    return { kind: "node-port", ip, port, node, ...nodePort };
  }
  return withPort({ kind: "node", ip, node } as const, port);
}

/** Whether `ip` lies in `prefix` ("10.244.0.0/16", "default", or an interface CIDR "10.244.0.1/24"). */
export function inPrefix(ip: string, prefix: string): boolean {
  const address = tryParseIP(ip);
  if (!address) return false;
  if (prefix === "default") return true;
  try {
    const p = parsePrefix(prefix.includes("/") ? prefix : `${prefix}/${address.family === 4 ? 32 : 128}`, {
      strict: false,
    });
    return p.family === address.family && containsIP(p, address);
  } catch {
    return false;
  }
}

/** The node whose pod block holds the address. */
export function blockOwner(
  snapshot: ClusterSnapshot,
  ip: string,
): { node: string; block: string } | undefined {
  for (const lease of snapshot.blocks)
    if (inPrefix(ip, lease.block)) return { node: lease.node, block: lease.block };
  for (const node of snapshot.nodes)
    for (const block of node.blocks) if (inPrefix(ip, block)) return { node: node.name, block };
  return undefined;
}

function resolveAddress(snapshot: ClusterSnapshot, ip: string, port: number | undefined): ResolvedTarget {
  const pod = snapshot.pods.find((p) => p.ips.some((a) => sameIP(a, ip)));
  if (pod) return withPort({ kind: "pod", ip, pod } as const, port);
  const node = snapshot.nodes.find((n) => nodeAddresses(n).includes(ip));
  if (node) return nodeTarget(snapshot, node, ip, port);
  const view = snapshot.services.find((s) => s.service.clusterIPs.some((c) => sameIP(c, ip)));
  if (view) return serviceTarget(view.service, ip, port);
  // In a pod block but held by no pod record (a stale allocation, a just-released or free address):
  // still the block owner's to deliver or refuse, so its node is on the path.
  const block = blockOwner(snapshot, ip);
  return withPort({ kind: "external", ip, ...(block ? { block } : {}) } as const, port);
}

function firstAddress(ips: readonly string[]): string | undefined {
  const first = ips.find((ip) => tryParseIP(ip)?.family === 4) ?? ips[0];
  return first === undefined ? undefined : (canonicalIP(first) ?? first);
}

function resolveName(
  snapshot: ClusterSnapshot,
  text: string,
  name: string,
  port: number | undefined,
): ResolvedTarget {
  const slash = name.indexOf("/");
  const namespace = slash < 0 ? "default" : name.slice(0, slash);
  const short = slash < 0 ? name : name.slice(slash + 1);
  if (namespace === "" || short === "" || short.includes("/")) {
    throw new TargetError(text, "expected an address, NAMESPACE/NAME or NAME");
  }
  if (slash < 0) {
    const node = snapshot.nodes.find((n) => n.name === name);
    const nodeIP = node ? firstAddress(node.nodeIPs) : undefined;
    if (node && nodeIP) return nodeTarget(snapshot, node, nodeIP, port);
    if (node) throw new TargetError(text, `node ${node.name} announces no node IP`);
  }
  const pod = snapshot.pods.find((p) => p.namespace === namespace && p.name === short);
  const service = snapshot.services.find(
    (s) => s.service.namespace === namespace && s.service.name === short,
  )?.service;
  const serviceIP = service ? firstAddress(service.clusterIPs) : undefined;
  const podIP = pod ? firstAddress(pod.ips) : undefined;
  const podTarget = pod && podIP ? withPort({ kind: "pod", ip: podIP, pod } as const, port) : undefined;
  const svcTarget = service && serviceIP ? serviceTarget(service, serviceIP, port) : undefined;
  const chosen = port === undefined ? (podTarget ?? svcTarget) : (svcTarget ?? podTarget);
  if (chosen) return chosen;
  if (pod) throw new TargetError(text, `pod ${namespace}/${short} has no address in the datastore`);
  if (service && isHeadless(service))
    throw new TargetError(
      text,
      `Service ${namespace}/${short} is headless (no ClusterIP, no proxy rules): trace to one of its pods`,
    );
  if (service) throw new TargetError(text, `Service ${namespace}/${short} has no ClusterIP`);
  throw new TargetError(
    text,
    slash < 0 ? "no pod, node or Service of that name" : `no pod or Service ${namespace}/${short}`,
  );
}

/** Resolves a trace argument (without "/tcp|/udp|/icmp") against the snapshot; throws TargetError. */
export function resolveTarget(snapshot: ClusterSnapshot, text: string): ResolvedTarget {
  if (text.trim() === "" || /\s/.test(text))
    throw new TargetError(text, "expected an address or a name, without spaces");
  const { host, port } = splitHostPort(text);
  const ip = canonicalIP(host);
  if (ip !== undefined) return resolveAddress(snapshot, ip, port);
  if (host.includes("[") || host.includes("]")) throw new TargetError(text, `"${host}" is not an address`);
  if (/^[0-9.]+$/.test(host)) throw new TargetError(text, `"${host}" is not an IPv4 address`);
  return resolveName(snapshot, text, host, port);
}

/**
 * Small address questions the trace planner, predictor and observer share (pure): is this address
 * in that prefix, which node or pod holds it, which route of a table would the kernel pick.
 */
import type { NodeFacts, RouteFact } from "../cluster/diagnosis-protocol.ts";
import type { NodeRecord } from "../cluster/node-record.ts";
import { canonicalIP, sameIP, tryParseIP } from "../ipnet/address.ts";
import { type IPPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { PodRecord } from "../k8s/service-model.ts";
import type { ClusterSnapshot, ServiceView } from "./cluster-snapshot.ts";
import { blockOwner, inPrefix, nodeAddresses } from "./target.ts";

export { blockOwner, inPrefix };

/** The prefix a text names (host bits allowed), or undefined. */
export function prefixOrUndefined(text: string): IPPrefix | undefined {
  try {
    return parsePrefix(text, { strict: false });
  } catch {
    return undefined;
  }
}

export function inAny(ip: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => inPrefix(ip, p));
}

function prefixLength(dst: string, family: 4 | 6): number {
  if (dst === "default") return 0;
  const slash = dst.indexOf("/");
  return slash === -1 ? (family === 4 ? 32 : 128) : Number(dst.slice(slash + 1));
}

/**
 * The route the kernel would pick from a main table for `dst`: longest prefix first, and among
 * equal prefixes the first listed (the table as `ip route show` prints it). Only unicast and
 * refusing types (unreachable, blackhole, prohibit) count; local and broadcast entries live in
 * other tables.
 */
export function longestMatch(routes: readonly RouteFact[], dst: string): RouteFact | undefined {
  const address = tryParseIP(dst);
  if (!address) return undefined;
  let best: RouteFact | undefined;
  let bestLength = -1;
  for (const route of routes) {
    if (!["unicast", "unreachable", "blackhole", "prohibit"].includes(route.type)) continue;
    if (!inPrefix(dst, route.dst)) continue;
    if (route.dst === "default" && address.family === 6 && route.via && tryParseIP(route.via)?.family === 4)
      continue;
    const length = prefixLength(route.dst, address.family);
    if (length > bestLength) {
      best = route;
      bestLength = length;
    }
  }
  return best;
}

export function nodeNamed(snapshot: ClusterSnapshot, name: string | undefined): NodeRecord | undefined {
  return name === undefined ? undefined : snapshot.nodes.find((n) => n.name === name);
}

/** The node whose node IP (underlay address) this is. */
export function nodeByNodeIP(snapshot: ClusterSnapshot, ip: string): NodeRecord | undefined {
  return snapshot.nodes.find((n) => n.nodeIPs.some((a) => sameIP(a, ip)));
}

/** The node that answers on this address: node IP, gateway or VTEP. */
export function nodeByAddress(snapshot: ClusterSnapshot, ip: string): NodeRecord | undefined {
  return snapshot.nodes.find((n) => nodeAddresses(n).some((a) => sameIP(a, ip)));
}

export function podByIP(snapshot: ClusterSnapshot, ip: string): PodRecord | undefined {
  return snapshot.pods.find((p) => p.ips.some((a) => sameIP(a, ip)));
}

export function podName(pod: { readonly namespace: string; readonly name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

export function serviceByClusterIP(snapshot: ClusterSnapshot, ip: string): ServiceView | undefined {
  return snapshot.services.find((v) => v.service.clusterIPs.some((a) => sameIP(a, ip)));
}

/** The facts a node reported, if it did. */
export function factsOf(facts: readonly NodeFacts[], node: string | undefined): NodeFacts | undefined {
  return node === undefined ? undefined : facts.find((f) => f.node === node);
}

/** The addresses (without length) on a device of the node, in the order listed. */
export function deviceAddresses(facts: NodeFacts, dev: string, family: 4 | 6 = 4): string[] {
  const link = facts.interfaces.find((i) => i.name === dev);
  if (!link) return [];
  return link.addresses
    .map((a) => a.split("/")[0] ?? a)
    .filter((a) => tryParseIP(a)?.family === family)
    .map((a) => canonicalIP(a) ?? a);
}

/** Every address the node holds on any device (what the kernel delivers locally). */
export function localAddresses(facts: NodeFacts): string[] {
  return facts.interfaces.flatMap((i) => i.addresses.map((a) => canonicalIP(a.split("/")[0] ?? a) ?? a));
}

/** The device that holds an address on this node. */
export function deviceHolding(facts: NodeFacts, ip: string): string | undefined {
  return facts.interfaces.find((i) => i.addresses.some((a) => sameIP(a.split("/")[0] ?? a, ip)))?.name;
}

export function familyOf(ip: string): 4 | 6 {
  return tryParseIP(ip)?.family ?? 4;
}

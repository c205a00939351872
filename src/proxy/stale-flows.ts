/**
 * Which UDP conntrack entries a change leaves pointing at endpoints that are gone (pure). UDP
 * has no connection to close: a client that keeps its source port (a DNS resolver, a game) would
 * keep matching the old entry and keep sending into a dead pod until the entry times out, so
 * the proxy deletes those entries after applying the new ruleset — then the next packet is a
 * new flow and gets a live endpoint. TCP needs none of this: the dead pod's peer gets a reset.
 */
import { serviceKey } from "../cluster/service-model.ts";
import { tryParseIP } from "../ipnet/address.ts";
import type { ServiceEntry } from "./endpoint-index.ts";

/** Entries to delete: UDP flows to `destination` (a ClusterIP, or any address for a NodePort) DNATed to `endpoint`. */
export interface StaleFlow {
  readonly family: 4 | 6;
  /** The ClusterIP, or undefined for NodePort flows (their destination is any node address). */
  readonly clusterIP: string | undefined;
  readonly port: number;
  readonly endpoint: string;
}

function udpTargets(entry: ServiceEntry): Map<string, StaleFlow> {
  const out = new Map<string, StaleFlow>();
  for (const port of entry.service.ports) {
    if (port.protocol !== "UDP") continue;
    for (const ep of entry.endpoints) {
      const ip = tryParseIP(ep.ip);
      if (ip === undefined) continue;
      for (const clusterIP of entry.service.clusterIPs) {
        if (tryParseIP(clusterIP)?.family !== ip.family) continue;
        const flow: StaleFlow = { family: ip.family, clusterIP, port: port.port, endpoint: ep.ip };
        out.set(`${clusterIP}|${port.port}|${ep.ip}`, flow);
      }
      if (port.nodePort !== undefined) {
        const flow: StaleFlow = {
          family: ip.family,
          clusterIP: undefined,
          port: port.nodePort,
          endpoint: ep.ip,
        };
        out.set(`*${ip.family}|${port.nodePort}|${ep.ip}`, flow);
      }
    }
  }
  return out;
}

/** UDP (destination, port, endpoint) triples reachable before and not after. */
export function staleUdpFlows(prev: readonly ServiceEntry[], next: readonly ServiceEntry[]): StaleFlow[] {
  const after = new Map<string, ServiceEntry>();
  for (const entry of next) after.set(serviceKey(entry.service), entry);
  const stale: StaleFlow[] = [];
  for (const entry of prev) {
    const now = after.get(serviceKey(entry.service));
    if (now === entry) continue;
    const kept = now ? udpTargets(now) : new Map<string, StaleFlow>();
    for (const [key, flow] of udpTargets(entry)) if (!kept.has(key)) stale.push(flow);
  }
  return stale;
}

/** The `conntrack` arguments that delete one stale flow's entries. */
export function conntrackDeleteArgs(flow: StaleFlow): string[] {
  const args = ["-D", "-f", flow.family === 4 ? "ipv4" : "ipv6", "-p", "udp"];
  if (flow.clusterIP !== undefined) args.push("--orig-dst", flow.clusterIP);
  // The reply comes from the endpoint the flow was DNATed to.
  args.push("--orig-port-dst", String(flow.port), "--reply-src", flow.endpoint);
  return args;
}

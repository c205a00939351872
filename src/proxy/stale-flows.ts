/**
 * Which UDP conntrack entries a change leaves pointing at endpoints that are gone (pure). UDP
 * has no connection to close: a client that keeps its source port (a DNS resolver, a game) would
 * keep matching the old entry and keep sending into a dead pod until the entry times out, so
 * the proxy deletes those entries after applying the new ruleset — then the next packet is a
 * new flow and gets a live endpoint. TCP needs none of this: the dead pod's peer gets a reset.
 *
 * The same holds for a UDP port that had no endpoints (or no Service yet, on this node): a flow
 * that started then was not translated — it went out towards the ClusterIP itself — and stays
 * untranslated while the client keeps sending. When the port gets its first endpoint, those
 * untranslated entries go — only they: their reply comes from the address and port the client
 * sent to, where a translated flow's reply comes from an endpoint, which may already be in use.
 */

import { tryParseIP } from "../ipnet/address.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import type { EntryChange } from "./synced-services.ts";

/** Entries to delete: UDP flows to `destination` (a ClusterIP, or any address for a NodePort) DNATed to `endpoint`. */
export interface StaleFlow {
  readonly family: 4 | 6;
  /** The ClusterIP, or undefined for NodePort flows (their destination is any node address). */
  readonly clusterIP: string | undefined;
  readonly port: number;
  /** The endpoint the flows were DNATed to; undefined for the flows that were not translated. */
  readonly endpoint: string | undefined;
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

/** UDP (destination, port, endpoint) triples reachable before a change and not after. */
export function staleUdpFlowsOf(changes: Iterable<EntryChange>): StaleFlow[] {
  const stale: StaleFlow[] = [];
  for (const [, was, now] of changes) {
    if (was === undefined || was === now) continue;
    const kept = now ? udpTargets(now) : new Map<string, StaleFlow>();
    for (const [key, flow] of udpTargets(was)) if (!kept.has(key)) stale.push(flow);
  }
  return stale;
}

function served(entry: ServiceEntry | undefined): Set<string> {
  const out = new Set<string>();
  if (entry === undefined || entry.endpoints.length === 0) return out;
  for (const port of entry.service.ports) {
    if (port.protocol !== "UDP") continue;
    for (const ip of entry.service.clusterIPs) out.add(`${ip}|${port.port}`);
    if (port.nodePort !== undefined) out.add(`*|${port.nodePort}`);
  }
  return out;
}

/** Untranslated flows to UDP ports (ClusterIP and NodePort) that have endpoints after a change and had none before. */
export function newlyServedUdpOf(changes: Iterable<EntryChange>): StaleFlow[] {
  const flows: StaleFlow[] = [];
  for (const [, was, now] of changes) {
    if (was === now) continue;
    const old = served(was);
    for (const key of served(now)) {
      if (old.has(key)) continue;
      const [dst, port] = key.split("|") as [string, string];
      if (dst === "*") {
        for (const family of [4, 6] as const)
          flows.push({ family, clusterIP: undefined, port: Number(port), endpoint: undefined });
      } else {
        const family = tryParseIP(dst)?.family;
        if (family !== undefined)
          flows.push({ family, clusterIP: dst, port: Number(port), endpoint: undefined });
      }
    }
  }
  return flows;
}

/** The `conntrack` arguments that delete one stale flow's entries. */
export function conntrackDeleteArgs(flow: StaleFlow): string[] {
  const args = ["-D", "-f", flow.family === 4 ? "ipv4" : "ipv6", "-p", "udp"];
  if (flow.clusterIP !== undefined) args.push("--orig-dst", flow.clusterIP);
  args.push("--orig-port-dst", String(flow.port));
  // The reply comes from the endpoint the flow was DNATed to, or — untranslated — from where the
  // client sent it: the ClusterIP, or for a NodePort (any node address) the NodePort itself.
  if (flow.endpoint !== undefined) args.push("--reply-src", flow.endpoint);
  else if (flow.clusterIP !== undefined) args.push("--reply-src", flow.clusterIP);
  else args.push("--reply-port-src", String(flow.port));
  return args;
}

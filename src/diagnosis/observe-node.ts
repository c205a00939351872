/**
 * One node's view of the probe's flow (pure): its packet lines (which hook, which devices, which
 * addresses and TTL), the DNAT rule that fired and its Service, the masquerade the
 * observer after srcnat saw, the rules that dropped or rejected it, its conntrack entries and its
 * VXLAN counters. The trace id ties a rule line only to the packet line before it in the same hook
 * traversal on the same node (that is what nft prints).
 */
import type { NodeObservation, TraceEvent } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { sameIP } from "../ipnet/address.ts";
import { NAMES } from "../proxy/nft-names.ts";
import type { ObservedNode, SeenPacket, SeenVerdict } from "./observation-types.ts";
import { ctTuple, type FlowTuples, headerOf, isTraceProto } from "./observe-flow.ts";
import type { PacketHeader } from "./prediction-types.ts";
import type { TracePlan } from "./trace-plan.ts";

/** The hook a chain is attached to, from podnet's and the tracing table's chain names. */
export function hookOf(e: TraceEvent): string {
  const chain = e.chain;
  if (chain === "observe-post") return "postrouting-after-nat";
  if (/pre/.test(chain)) return "prerouting";
  if (/post/.test(chain)) return "postrouting";
  if (/out/.test(chain)) return "output";
  if (/forward|fwd/.test(chain)) return "forward";
  if (/input|-in$/.test(chain)) return "input";
  return "other";
}

export function isVxlanDevice(dev: string | undefined): boolean {
  return dev !== undefined && (dev === VXLAN_DEV || /vx|vxlan|flannel/.test(dev));
}

/** "svc-c80vt274-default/echo/tcp/80" → "default/echo" (proxy/nft-names.ts: KIND-HASH-ns/name/proto/port). */
export function serviceOfChain(chain: string): string | undefined {
  const m = /^(?:svc|ext|ep|aff)-[0-9a-v]{8}-([^/]+)\/([^/]+)\/(tcp|udp|sctp)\/\d+/.exec(chain);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/**
 * The Service whose verdict-map element a lookup in `map` (service-ips or service-nodeports) used
 * for `packet`: the element's key is the packet's `ClusterIP . proto . port` (or `proto .
 * nodePort`), matched against the Service the plan resolved from the cluster state. Without
 * affinity the element leads straight to a shared chain (`goto endpoints-tcp-3`) whose name says
 * nothing about the Service, so the key is what names it.
 */
export function serviceOfLookup(plan: TracePlan, map: string, packet: PacketHeader): string | undefined {
  const d = plan.destination;
  if (d.kind !== "service" && d.kind !== "node-port") return undefined;
  const svc = d.service;
  const protocol = packet.proto.toUpperCase();
  const named = `${svc.namespace}/${svc.name}`;
  if (map === NAMES.serviceIps) {
    const ip = svc.clusterIPs.some((c) => sameIP(c, packet.dst));
    return ip && svc.ports.some((p) => p.port === packet.dport && p.protocol === protocol)
      ? named
      : undefined;
  }
  return svc.ports.some((p) => p.nodePort === packet.dport && p.protocol === protocol) ? named : undefined;
}

export interface NodeStory {
  readonly node: ObservedNode;
  readonly firstAt: number;
}

export function observeNode(plan: TracePlan, o: NodeObservation, flow: FlowTuples): NodeStory {
  const proto = plan.spec.proto;
  const packets: SeenPacket[] = [];
  const drops: SeenVerdict[] = [];
  let dnat: ObservedNode["dnat"];
  let dnatTrace: string | undefined;
  const current = new Map<string, SeenPacket>();
  let svcChain: string | undefined;
  /** The Service named by the key of the last verdict-map lookup. */
  let lookedUp: string | undefined;
  for (const e of o.events) {
    if (e.l4proto !== undefined && !isTraceProto(e.l4proto, proto) && e.type === "packet") continue;
    if (e.type === "packet") {
      const header = headerOf(e, proto);
      const direction = header ? flow.direction(header) : undefined;
      if (!header || !direction) {
        current.delete(e.traceId);
        continue;
      }
      const seen: SeenPacket = {
        node: o.node,
        direction,
        hook: hookOf(e),
        chain: `${e.family} ${e.table} ${e.chain}`,
        atMs: e.atMs,
        ...(e.iif !== undefined ? { iif: e.iif } : {}),
        ...(e.oif !== undefined ? { oif: e.oif } : {}),
        ...(e.ttl !== undefined ? { ttl: e.ttl } : {}),
        packet: header,
      };
      packets.push(seen);
      if (
        dnat &&
        !dnat.to &&
        dnatTrace === e.traceId &&
        direction === "forward" &&
        !sameIP(header.dst, plan.spec.destination.ip)
      )
        dnat = {
          ...dnat,
          to: { ip: header.dst, ...(header.dport !== undefined ? { port: header.dport } : {}) },
        };
      current.set(e.traceId, seen);
      continue;
    }
    const owner = current.get(e.traceId);
    if (!owner || e.type !== "rule" || !e.rule) continue;
    const lookup = /\bvmap @(\S+)/.exec(e.rule)?.[1];
    if (lookup === NAMES.serviceIps || lookup === NAMES.serviceNodeports)
      lookedUp = serviceOfLookup(plan, lookup, owner.packet);
    if (e.verdict?.startsWith("goto ") || e.verdict?.startsWith("jump ")) {
      const target = e.verdict.split(" ")[1] ?? "";
      if (serviceOfChain(target)) svcChain = target;
    }
    if (/\bdnat\b/.test(e.rule) && owner.direction === "forward" && !dnat) {
      const chainService = serviceOfChain(svcChain ?? e.chain) ?? lookedUp;
      dnat = { chain: svcChain ?? e.chain, rule: e.rule, ...(chainService ? { service: chainService } : {}) };
      dnatTrace = e.traceId;
    }
    if (e.verdict === "drop" || /(^|\s)reject(\s|$)/.test(e.rule))
      drops.push({
        node: o.node,
        chain: `${e.family} ${e.table} ${e.chain}`,
        rule: e.rule,
        verdict: e.verdict ?? "",
      });
  }
  // The translated destination from conntrack when no later hook showed it.
  const conntrack = o.conntrack
    .filter(
      (c) =>
        isTraceProto(c.proto, proto) &&
        (flow.direction(ctTuple(c.original)) !== undefined || flow.direction(ctTuple(c.reply)) !== undefined),
    )
    .map((c) => ({
      original: { proto, ...ctTuple(c.original) },
      reply: { proto, ...ctTuple(c.reply) },
      ...(c.state ? { state: c.state } : {}),
      flags: c.flags,
    }));
  if (dnat && !dnat.to) {
    const ct = conntrack.find((c) => !sameIP(c.reply.src, c.original.dst));
    if (ct)
      dnat = {
        ...dnat,
        to: { ip: ct.reply.src, ...(ct.reply.sport !== undefined ? { port: ct.reply.sport } : {}) },
      };
  }
  // Masquerade: the observer after srcnat shows a source the packet did not enter with.
  let snat: ObservedNode["snat"];
  const entered = packets.find(
    (p) => p.direction === "forward" && (p.hook === "prerouting" || p.hook === "output"),
  );
  const observed = packets.find((p) => p.direction === "forward" && p.hook === "postrouting-after-nat");
  if (entered && observed && !sameIP(entered.packet.src, observed.packet.src))
    snat = {
      ip: observed.packet.src,
      ...(observed.packet.sport !== undefined ? { port: observed.packet.sport } : {}),
      how: "observer",
    };
  else {
    const ct = conntrack.find((c) => !sameIP(c.reply.dst, c.original.src));
    if (ct)
      snat = {
        ip: ct.reply.dst,
        ...(ct.reply.dport !== undefined ? { port: ct.reply.dport } : {}),
        how: "conntrack",
      };
  }
  const vxlan = o.counters
    .filter((c) => /^vxlan-(out|in) /.test(c.name))
    .map((c) => ({ name: c.name, packets: c.packets }));
  return {
    node: {
      node: o.node,
      reported: true,
      packets,
      ...(dnat ? { dnat } : {}),
      ...(snat ? { snat } : {}),
      drops,
      conntrack,
      vxlan,
      sysctls: o.sysctls,
      errors: o.errors,
    },
    firstAt: packets[0]?.atMs ?? Number.POSITIVE_INFINITY,
  };
}

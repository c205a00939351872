/**
 * The probe's flow as a set of 5-tuples (pure), per direction. It starts as the probe's own tuple;
 * every conntrack entry whose original tuple is one of the flow's adds its reply tuple and the
 * forms in between (after DNAT, before masquerade), and a DNAT seen in a trace before conntrack
 * confirmed it adds the translated form — so a packet is recognised under every address it takes
 * on every node, without nft's trace id (research §7 pitfall 4).
 */
import type {
  ConntrackTuple,
  NodeObservation,
  ProbeResult,
  TraceEvent,
} from "../cluster/diagnosis-protocol.ts";
import { canonicalIP, sameIP } from "../ipnet/address.ts";
import type { Direction, PacketHeader } from "./prediction-types.ts";
import type { TracePlan } from "./trace-plan.ts";

export interface Tuple {
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
}

export function tuple(src: string, dst: string, sport?: number, dport?: number): Tuple {
  return {
    src: canonicalIP(src) ?? src,
    dst: canonicalIP(dst) ?? dst,
    ...(sport !== undefined ? { sport } : {}),
    ...(dport !== undefined ? { dport } : {}),
  };
}

function reverse(t: Tuple): Tuple {
  return tuple(t.dst, t.src, t.dport, t.sport);
}

function key(t: Tuple): string {
  return `${t.src}|${t.sport ?? "*"}|${t.dst}|${t.dport ?? "*"}`;
}

function portMatch(a: number | undefined, b: number | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

function matches(t: Tuple, p: { src: string; dst: string; sport?: number; dport?: number }): boolean {
  return (
    sameIP(t.src, p.src) && sameIP(t.dst, p.dst) && portMatch(t.sport, p.sport) && portMatch(t.dport, p.dport)
  );
}

export class FlowTuples {
  readonly forward = new Map<string, Tuple>();
  readonly reply = new Map<string, Tuple>();

  add(direction: Direction, t: Tuple): boolean {
    const map = direction === "forward" ? this.forward : this.reply;
    if (map.has(key(t))) return false;
    map.set(key(t), t);
    const other = direction === "forward" ? this.reply : this.forward;
    other.set(key(reverse(t)), reverse(t));
    return true;
  }

  direction(p: { src: string; dst: string; sport?: number; dport?: number }): Direction | undefined {
    for (const t of this.forward.values()) if (matches(t, p)) return "forward";
    for (const t of this.reply.values()) if (matches(t, p)) return "reply";
    return undefined;
  }
}

export function ctTuple(t: ConntrackTuple): Tuple {
  return tuple(t.src, t.dst, t.sport, t.dport);
}

/**
 * Whether a protocol name nft or conntrack reported is the trace's protocol. A trace says "icmp"
 * for both families; nft names IPv6's "ipv6-icmp" (or "icmpv6"), conntrack "icmpv6".
 */
export function isTraceProto(reported: string, proto: PacketHeader["proto"]): boolean {
  const name = reported.toLowerCase();
  if (proto === "icmp") return name === "icmp" || name === "ipv6-icmp" || name === "icmpv6";
  return name === proto;
}

export function headerOf(e: TraceEvent, proto: PacketHeader["proto"]): PacketHeader | undefined {
  if (!e.saddr || !e.daddr) return undefined;
  return {
    proto,
    src: canonicalIP(e.saddr) ?? e.saddr,
    dst: canonicalIP(e.daddr) ?? e.daddr,
    ...(e.sport !== undefined ? { sport: e.sport } : {}),
    ...(e.dport !== undefined ? { dport: e.dport } : {}),
  };
}

function originalTuple(plan: TracePlan, probe: ProbeResult | undefined): Tuple[] {
  const spec = plan.spec;
  const sport = probe?.localPort ?? spec.sourcePort;
  const dport = spec.destination.port;
  if (probe?.localIp) return [tuple(probe.localIp, spec.destination.ip, sport, dport)];
  // Without the probe's own address (node sources pick theirs by route): every planned source.
  const sources = spec.match.pairs.filter(([, b]) => sameIP(b, spec.destination.ip)).map(([a]) => a);
  const list = sources.length > 0 ? sources : [plan.source.ip];
  return list.map((s) => tuple(s, spec.destination.ip, sport, dport));
}

/**
 * NAT seen in one node's trace, for flows conntrack did not (or no longer) report — a refused or
 * dropped first packet, an entry gone before it was read: two packet lines of the same hook
 * traversal (same trace id, on the same node — what nft prints for one skb) where one end stays
 * and the other changed are the same packet before and after DNAT, masquerade or un-NAT.
 */
function traceTranslations(plan: TracePlan, o: NodeObservation, flow: FlowTuples): boolean {
  const proto = plan.spec.proto;
  const current = new Map<string, { header: PacketHeader; direction: Direction }>();
  let grew = false;
  for (const e of o.events) {
    if (e.type !== "packet") continue;
    const header = headerOf(e, proto);
    if (!header) continue;
    const direction = flow.direction(header);
    const before = current.get(e.traceId);
    if (!direction && before) {
      const b = before.header;
      const sameSource = sameIP(b.src, header.src) && b.sport === header.sport;
      const sameDestination = sameIP(b.dst, header.dst) && b.dport === header.dport;
      if (sameSource !== sameDestination) {
        grew = flow.add(before.direction, tuple(header.src, header.dst, header.sport, header.dport)) || grew;
        current.set(e.traceId, { header, direction: before.direction });
        continue;
      }
    }
    if (direction) current.set(e.traceId, { header, direction });
    else current.delete(e.traceId);
  }
  return grew;
}

export function stitch(
  plan: TracePlan,
  observations: readonly NodeObservation[],
  probe: ProbeResult | undefined,
): FlowTuples {
  const flow = new FlowTuples();
  for (const t of originalTuple(plan, probe)) flow.add("forward", t);
  for (const o of observations) traceTranslations(plan, o, flow);
  const proto = plan.spec.proto;
  const entries = observations.flatMap((o) => o.conntrack).filter((c) => isTraceProto(c.proto, proto));
  for (let round = 0; round < 6; round++) {
    let grew = false;
    for (const c of entries) {
      const orig = ctTuple(c.original);
      const rep = ctTuple(c.reply);
      const known = flow.direction(orig) === "forward" || flow.direction(rep) === "reply";
      if (!known) continue;
      grew = flow.add("forward", orig) || grew;
      grew = flow.add("reply", rep) || grew;
      // Between DNAT (prerouting) and masquerade (postrouting): original source, translated destination.
      grew = flow.add("forward", tuple(orig.src, rep.src, orig.sport, rep.sport)) || grew;
    }
    if (!grew) break;
  }
  return flow;
}

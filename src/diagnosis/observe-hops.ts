/**
 * One node's part of the observed story, per direction (pure): how the packet entered (bridge,
 * overlay, underlay, outside, the node itself), the DNAT, a drop or reject, the masquerade or the
 * reply's un-NAT, and how it left (bridged when the TTL is unchanged, into VXLAN, to a pod, across
 * the node network, out of the cluster) — or that it entered and never left, and the likely why.
 */
import { DEFAULT_BRIDGE } from "../cni/conflist.ts";
import { sameIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { ObservedHop, ObservedNode, SeenPacket, SeenVerdict } from "./observation-types.ts";
import { isVxlanDevice } from "./observe-node.ts";
import type { Direction, Drop, DropReason, PacketHeader } from "./prediction-types.ts";
import { nodeAddresses } from "./target.ts";
import { inAny } from "./trace-net.ts";
import type { TracePlan } from "./trace-plan.ts";

function dropReasonOf(plan: TracePlan, verdict: SeenVerdict): DropReason {
  if (/reject-service/.test(verdict.chain)) {
    if (plan.destination.kind === "service" || plan.destination.kind === "node-port")
      return plan.candidates.length === 0
        ? plan.servicePort
          ? "no-endpoints"
          : "unknown-service-port"
        : "nft-drop";
    return "nft-drop";
  }
  return "nft-drop";
}

export function plannedHeader(plan: TracePlan): PacketHeader {
  const spec = plan.spec;
  return {
    proto: spec.proto,
    src: plan.source.ip,
    dst: spec.destination.ip,
    ...(spec.sourcePort !== undefined ? { sport: spec.sourcePort } : {}),
    ...(spec.destination.port !== undefined ? { dport: spec.destination.port } : {}),
  };
}

export interface Locals {
  readonly addresses: readonly string[];
}

export function localsOf(plan: TracePlan): Locals {
  const addresses: string[] = Object.values(plan.nodeAddresses).flat();
  for (const t of [plan.source, plan.destination])
    if (t.kind === "node") addresses.push(...nodeAddresses(t.node));
    else if (t.kind === "node-port" && t.node) addresses.push(...nodeAddresses(t.node));
  return { addresses };
}

export function hopsOf(
  plan: TracePlan,
  node: ObservedNode,
  direction: Direction,
  locals: Locals,
  clusterCidrs: readonly string[],
): { hops: ObservedHop[]; vanished?: Drop } {
  const mine = node.packets.filter((p) => p.direction === direction);
  if (mine.length === 0) return { hops: [] };
  const hops: ObservedHop[] = [];
  const n = node.node;
  const enter = mine.find((p) => p.hook === "prerouting" || p.hook === "output");
  const post = mine.find((p) => p.hook === "postrouting");
  const after = mine.find((p) => p.hook === "postrouting-after-nat");
  const leave = after ?? post;
  const base = (p: SeenPacket) => ({
    direction,
    node: n,
    packet: p.packet,
    ...(p.iif !== undefined ? { iif: p.iif } : {}),
    ...(p.oif !== undefined ? { oif: p.oif } : {}),
    ...(p.ttl !== undefined ? { ttl: p.ttl } : {}),
  });
  if (enter) {
    const point =
      enter.hook === "output"
        ? "from-host"
        : enter.iif === DEFAULT_BRIDGE
          ? "bridge"
          : isVxlanDevice(enter.iif)
            ? "from-overlay"
            : inAny(enter.packet.src, clusterCidrs) ||
                plan.spec.vxlanPeers.some((p) => sameIP(p, enter.packet.src))
              ? "underlay"
              : "from-network";
    hops.push({
      ...base(enter),
      point,
      description: `${enter.hook === "output" ? "sent by" : "entered"} ${n}${enter.iif ? ` on ${enter.iif}` : ""}: ${hostPort(enter.packet.src, enter.packet.sport)} → ${hostPort(enter.packet.dst, enter.packet.dport)}${enter.ttl !== undefined ? ` ttl ${enter.ttl}` : ""}`,
      evidence: [
        `${enter.chain}: packet${enter.iif ? ` iif ${enter.iif}` : ""} ${enter.packet.src} → ${enter.packet.dst}`,
      ],
    });
  }
  if (direction === "forward" && node.dnat) {
    const to = node.dnat.to;
    hops.push({
      direction,
      node: n,
      point: "service-dnat",
      description: `DNAT${node.dnat.service ? ` for ${node.dnat.service}` : ""}${to ? ` → ${hostPort(to.ip, to.port)}` : ""}`,
      packet:
        to && enter
          ? { ...enter.packet, dst: to.ip, ...(to.port !== undefined ? { dport: to.port } : {}) }
          : (enter?.packet ?? plannedHeader(plan)),
      evidence: [`${node.dnat.chain}: ${node.dnat.rule}`],
    });
  }
  const drop = node.drops[0];
  if (drop && direction === "forward") {
    const reason = dropReasonOf(plan, drop);
    hops.push({
      direction,
      node: n,
      point: /reject-service/.test(drop.chain) ? "service-reject" : "drop",
      description: `${drop.chain}: ${drop.rule} (verdict ${drop.verdict})`,
      packet: (enter ?? mine[0])?.packet ?? plannedHeader(plan),
      evidence: [`${drop.chain}: ${drop.rule} (verdict ${drop.verdict})`],
    });
    return {
      hops,
      vanished: {
        reason,
        node: n,
        message: `${n} ${/reject/.test(drop.rule) ? "rejected" : "dropped"} it: ${drop.rule} in ${drop.chain}`,
        evidence: [`${drop.chain}: ${drop.rule} (verdict ${drop.verdict})`],
      },
    };
  }
  if (!leave) {
    const dst = (enter ?? mine[0])?.packet.dst ?? "";
    if (locals.addresses.some((a) => sameIP(a, dst)) || !enter || enter.hook === "output") {
      if (enter && enter.hook !== "output")
        hops.push({
          ...base(enter),
          point: "to-host",
          description: `delivered to ${n} itself (${dst})`,
          evidence: [],
        });
      return { hops };
    }
    const forwarding = node.sysctls["net.ipv4.ip_forward"];
    const rp = node.sysctls["net.ipv4.conf.all.rp_filter"];
    const reason: DropReason = forwarding === "0" ? "ip-forward-off" : rp === "1" ? "rp-filter" : "vanished";
    const why =
      reason === "ip-forward-off"
        ? ` (net.ipv4.ip_forward = 0 on ${n})`
        : reason === "rp-filter"
          ? ` (net.ipv4.conf.all.rp_filter = 1 on ${n})`
          : "";
    return {
      hops,
      vanished: {
        reason,
        node: n,
        message: `the packet entered ${n}${enter.iif ? ` on ${enter.iif}` : ""} and never left it${why}`,
        evidence: [
          `${enter.chain}: seen`,
          `no postrouting trace of ${hostPort(enter.packet.src, enter.packet.sport)} → ${hostPort(dst, enter.packet.dport)} on ${n}`,
        ],
      },
    };
  }
  if (after && post && !sameIP(after.packet.src, post.packet.src))
    hops.push({
      ...base(after),
      point: "masquerade",
      description: `masqueraded to ${hostPort(after.packet.src, after.packet.sport)}`,
      evidence: [`${post.chain}: saddr ${post.packet.src}`, `${after.chain}: saddr ${after.packet.src}`],
    });
  else if (enter && direction === "reply" && !sameIP(leave.packet.src, enter.packet.src))
    hops.push({
      ...base(leave),
      point: "un-nat",
      description: `reply source restored to ${hostPort(leave.packet.src, leave.packet.sport)}`,
      evidence: [`${enter.chain}: saddr ${enter.packet.src}`, `${leave.chain}: saddr ${leave.packet.src}`],
    });
  if (enter && direction === "reply" && !sameIP(leave.packet.dst, enter.packet.dst))
    hops.push({
      ...base(leave),
      point: "un-nat",
      description: `reply destination restored to ${hostPort(leave.packet.dst, leave.packet.dport)}`,
      evidence: [`${enter.chain}: daddr ${enter.packet.dst}`, `${leave.chain}: daddr ${leave.packet.dst}`],
    });
  const l2 =
    enter?.ttl !== undefined && leave.ttl !== undefined && enter.ttl === leave.ttl && enter.hook !== "output";
  const oif = leave.oif;
  // Counters towards the node's own address count nothing of this flow.
  const own = plan.nodeAddresses[n] ?? [];
  const counters = node.vxlan.filter(
    (c) => c.name.startsWith("vxlan-out ") && !own.some((a) => sameIP(a, c.name.slice("vxlan-out ".length))),
  );
  const outPoint = l2
    ? "bridge"
    : isVxlanDevice(oif)
      ? "to-overlay"
      : oif === DEFAULT_BRIDGE
        ? "to-pod"
        : inAny(leave.packet.dst, clusterCidrs) || locals.addresses.some((a) => sameIP(a, leave.packet.dst))
          ? "underlay"
          : "to-network";
  hops.push({
    ...base(leave),
    point: outPoint,
    layer: l2 ? "l2" : "l3",
    description: `${l2 ? "bridged (L2, TTL unchanged)" : "routed"} out ${oif ?? "?"}${leave.ttl !== undefined ? ` ttl ${leave.ttl}` : ""}: ${hostPort(leave.packet.src, leave.packet.sport)} → ${hostPort(leave.packet.dst, leave.packet.dport)}`,
    evidence: [
      `${leave.chain}: packet oif ${oif ?? "?"}`,
      ...(outPoint === "to-overlay" ? counters.map((c) => `counter ${c.name}: ${c.packets} packet(s)`) : []),
    ],
  });
  if (
    outPoint === "to-overlay" &&
    direction === "forward" &&
    counters.length > 0 &&
    counters.every((c) => c.packets === 0)
  )
    return {
      hops,
      vanished: {
        reason: "missing-fdb",
        node: n,
        message: `${n} routed it into ${oif} but sent no VXLAN packet to any peer: the device had no forwarding entry for the destination`,
        evidence: counters.map((c) => `counter ${c.name}: 0 packets`),
      },
    };
  return { hops };
}

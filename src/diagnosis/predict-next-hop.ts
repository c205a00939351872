/**
 * Where a routed packet goes next (pure): onto the node's bridge to a pod (or the node itself),
 * straight to a peer over the node network, through VXLAN to a peer, or out of the cluster.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { sameIP } from "../ipnet/address.ts";
import { addressWord, ifnameWord } from "./command-words.ts";
import type { NextHop } from "./predict-route.ts";
import {
  dropHere,
  finish,
  hop,
  type WalkContext,
  type WalkEnd,
  type WalkState,
  with_,
} from "./predict-state.ts";
import type { PacketHeader } from "./prediction-types.ts";
import { factsOf, localAddresses, podByIP, podName } from "./trace-net.ts";

/** The pod (namespace/name) that holds `ip` on the node of `facts`, if any. */
export function podOnNode(ctx: WalkContext, facts: NodeFacts, ip: string): string | undefined {
  const local = facts.pods.find((p) => p.ips.some((a) => sameIP(a, ip)));
  if (local) return `${local.namespace}/${local.name}`;
  const record = podByIP(ctx.snapshot, ip);
  return record && record.node === facts.node && facts.pods.length === 0 ? podName(record) : undefined;
}

/** What does not cross to another node: the packet mark and this node's conntrack NAT status. */
const NEW_NODE = { marked: false, dnatted: false } as const;

export function deliver(ctx: WalkContext, w: WalkState, facts: NodeFacts, dev: string): WalkEnd[] {
  const node = facts.node;
  const dst = w.packet.dst;
  if (localAddresses(facts).some((a) => sameIP(a, dst))) {
    const h = hop(w, {
      point: "to-host",
      node,
      where: `${node} ${dev}`,
      description: `delivered to ${node} itself (${dst})`,
    });
    return [finish(with_(w, { at: { kind: "node", node, arrival: "local" } }, h), "delivered")];
  }
  const pod = podOnNode(ctx, facts, dst);
  if (!pod)
    return [
      dropHere(
        w,
        `${node} ${dev}`,
        node,
        {
          reason: "no-pod",
          node,
          message: `no pod holds ${dst} on ${node}: nothing answers for it on ${dev}`,
          evidence: [
            `pods on ${node}: ${facts.pods.map((p) => `${p.name} ${p.ips.join(",")}`).join("; ") || "none"}`,
          ],
        },
        { commands: [{ node, command: `ip neigh show dev ${ifnameWord(dev)} ${addressWord(dst)}` }] },
      ),
    ];
  const record = ctx.snapshot.pods.find((p) => podName(p) === pod);
  const h = hop(w, {
    point: "to-pod",
    node,
    pod,
    where: `${pod.split("/")[1] ?? pod} eth0`,
    description: `delivered to ${pod} (${dst})`,
    iif: dev,
    commands: [{ node, command: `ip neigh show dev ${ifnameWord(dev)} ${addressWord(dst)}` }],
  });
  return [
    finish(
      with_(w, { at: record ? { kind: "pod", pod: record } : { kind: "node", node, arrival: "local" } }, h),
      "delivered",
    ),
  ];
}

export function describeNext(dst: string, routeDst: string, next: NextHop): string {
  switch (next.kind) {
    case "bridge":
      return `${dst} is on this node's bridge ${next.dev} (route ${routeDst})`;
    case "direct":
      return `${next.bgp ? "BGP route (proto bird), " : ""}direct: ${routeDst} via ${next.via} dev ${next.dev} — ${next.why}`;
    case "vxlan":
      return `VXLAN: ${routeDst} via ${next.vxlan.vtep} dev ${next.vxlan.device} onlink — ${next.why}`;
    case "gateway":
      return next.node
        ? `${next.bgp ? "BGP route (proto bird): " : ""}via ${next.via ?? "the default gateway"} dev ${next.dev} to ${next.node} behind it`
        : `via ${next.via ?? "a connected route"} dev ${next.dev}: ${dst} is outside the cluster`;
    default: {
      const never: never = next;
      throw new Error(`unhandled next hop ${JSON.stringify(never)}`);
    }
  }
}

function uplinkOf(ctx: WalkContext, node: string, fallback: string): string {
  return factsOf(ctx.facts, node)?.agent.uplink ?? fallback;
}

export function onward(
  ctx: WalkContext,
  w: WalkState,
  facts: NodeFacts,
  next: NextHop,
  oif: string,
): WalkEnd[] {
  const node = facts.node;
  switch (next.kind) {
    case "bridge":
      return deliver(ctx, w, facts, next.dev);
    case "direct": {
      const h = hop(w, {
        point: "underlay",
        node,
        where: `${node} → ${next.node}`,
        description: `${node} ${next.dev} → ${next.node} (${next.via}), one L2 segment, no encapsulation`,
        oif: next.dev,
      });
      const iif = uplinkOf(ctx, next.node, next.dev);
      return ctx.walk(
        with_(w, { at: { kind: "node", node: next.node, iif, arrival: "underlay" }, ...NEW_NODE }, h),
      );
    }
    case "vxlan": {
      const v = next.vxlan;
      const outer: PacketHeader = {
        proto: "udp",
        src: v.outerSrc ?? "?",
        dst: v.outerDst ?? "?",
        dport: v.port,
      };
      const encap = hop(w, {
        point: "to-overlay",
        node,
        where: `${node} ${v.device}`,
        description: `encapsulated: VNI ${v.vni}, inner dst MAC ${v.vtepMac ?? "?"} (VTEP ${v.vtep}), outer ${outer.src} → ${outer.dst} udp/${v.port}`,
        oif: v.device,
        vxlan: v,
        evidence: [
          `neighbour ${v.vtep} → ${v.vtepMac ?? "?"}`,
          `fdb ${v.vtepMac ?? "?"} → ${v.outerDst ?? "?"}`,
        ],
        commands: [{ node, command: `ip -d link show ${ifnameWord(v.device)}` }],
      });
      const { ttl: _innerTtl, ...wire } = hop(w, {
        point: "underlay",
        node,
        where: `${node} → ${next.node ?? v.outerDst}`,
        description: `outer packet ${outer.src} → ${outer.dst} udp/${v.port} across the node network`,
        packet: outer,
        commands: [{ node, command: `ip route get ${addressWord(outer.dst)}` }],
      });
      if (!next.node) {
        ctx.unknowns.push(`the VXLAN peer ${v.outerDst} is not a node of the cluster`);
        return [finish(with_(w, {}, encap, wire), "unknown")];
      }
      return ctx.walk(
        with_(
          w,
          { at: { kind: "node", node: next.node, iif: v.device, arrival: "overlay" }, ...NEW_NODE },
          encap,
          wire,
        ),
      );
    }
    case "gateway": {
      if (next.node) {
        const h = hop(w, {
          point: "underlay",
          node,
          where: `${node} → ${next.node}`,
          description: `${node} ${next.dev} → via ${next.via ?? "?"} → ${next.node} (the router lowers the TTL by one)`,
          oif: next.dev,
        });
        const iif = uplinkOf(ctx, next.node, next.dev);
        const ttl = w.ttl === undefined ? {} : { ttl: w.ttl - 1 };
        return ctx.walk(
          with_(
            w,
            { at: { kind: "node", node: next.node, iif, arrival: "underlay" }, ...NEW_NODE, ...ttl },
            h,
          ),
        );
      }
      const h = hop(w, {
        point: "to-network",
        node,
        where: `${node} ${oif}`,
        description: `leaves the cluster via ${next.via ?? "a connected route"} dev ${next.dev}`,
        oif,
      });
      return [
        finish(
          with_(w, { at: { kind: "external", node, dev: oif } }, h),
          w.direction === "forward" ? "left-cluster" : "delivered",
        ),
      ];
    }
    default: {
      const never: never = next;
      throw new Error(`unhandled next hop ${JSON.stringify(never)}`);
    }
  }
}

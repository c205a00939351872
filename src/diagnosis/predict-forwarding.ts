/**
 * A node's handling of a packet after prerouting (pure): local delivery, the forwarding checks
 * (ip_forward, strict rp_filter), the FIB decision, and postrouting — masquerade for a new
 * connection, un-DNAT for a reply — before the next hop.
 */

import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { DEFAULT_BRIDGE } from "../cni/conflist.ts";
import { sameIP } from "../ipnet/address.ts";
import { proxyTableOf } from "../linux/nft-table-family.ts";
import { NAMES } from "../proxy/nft-names.ts";
import { addressWord, ifnameWord } from "./command-words.ts";
import { deliver, describeNext, onward } from "./predict-next-hop.ts";
import { decideRoute, routeCommand } from "./predict-route.ts";
import { masqueradeStep } from "./predict-service.ts";
import {
  type At,
  dropHere,
  hop,
  type NatRecord,
  showPacket,
  unNat,
  type WalkContext,
  type WalkEnd,
  type WalkState,
  with_,
} from "./predict-state.ts";
import type { PacketHeader } from "./prediction-types.ts";
import { familyOf, localAddresses, longestMatch } from "./trace-net.ts";

const BRIDGE_NF = "net.bridge.bridge-nf-call-iptables";
const BRIDGE_NF6 = "net.bridge.bridge-nf-call-ip6tables";

/**
 * The sysctl that sends bridged traffic of `family` through the ip/ip6 hooks. An agent that
 * reported only the IPv4 one (before IPv6 was read) leaves IPv6 to it: both exist together,
 * when br_netfilter is loaded, and default to 1.
 */
function bridgeNfKey(facts: NodeFacts, family: 4 | 6): string {
  return family === 6 && facts.sysctls[BRIDGE_NF6] !== undefined ? BRIDGE_NF6 : BRIDGE_NF;
}

/**
 * Whether bridged traffic of `family` passes the ip/ip6/inet hooks and conntrack: br_netfilter
 * loaded (the sysctl exists only then) and enabled. Without it a bridged packet is neither NATed,
 * un-NATed nor traced.
 */
export function bridgeNetfilter(facts: NodeFacts, family: 4 | 6 = 4): boolean {
  const v = facts.sysctls[bridgeNfKey(facts, family)]?.trim();
  return v !== undefined && v !== "0";
}

/** The sysctl as evidence: its value, or that br_netfilter is not loaded. */
export function bridgeNetfilterEvidence(facts: NodeFacts, family: 4 | 6 = 4): string {
  const key = bridgeNfKey(facts, family);
  const v = facts.sysctls[key];
  return v === undefined
    ? `${key} absent: br_netfilter is not loaded, bridged traffic skips the ip hooks and conntrack`
    : `${key} = ${v.trim()}`;
}

/** The command that shows the sysctl of `family`. */
export function bridgeNetfilterCommand(family: 4 | 6 = 4): string {
  return `sysctl ${family === 6 ? BRIDGE_NF6 : BRIDGE_NF}`;
}

/** Why bridged hops are not traced on a node without br_netfilter. */
export const BRIDGED_UNOBSERVABLE = "bridged traffic is not seen by the ip hooks: br_netfilter off";

/** The DNAT a reply on this node must undo (conntrack), if any. */
export function pendingUnDnat(w: WalkState, node: string): NatRecord | undefined {
  return w.nat.find(
    (n) =>
      n.kind === "dnat" &&
      n.node === node &&
      sameIP(n.after.dst, w.packet.src) &&
      (n.after.dport === undefined || n.after.dport === w.packet.sport),
  );
}

function sysctlNumber(facts: NodeFacts, key: string): number | undefined {
  const v = facts.sysctls[key];
  if (v === undefined) return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}

export function afterPrerouting(
  ctx: WalkContext,
  w0: WalkState,
  facts: NodeFacts,
  at: Extract<At, { kind: "node" }>,
  natHere = false,
): WalkEnd[] {
  let w = w0;
  const node = facts.node;
  const dst = w.packet.dst;
  if (localAddresses(facts).some((a) => sameIP(a, dst))) return deliver(ctx, w, facts, at.iif ?? "lo");
  const forwarding = at.iif !== undefined;
  const fibWhere = `${node} FIB`;
  if (forwarding) {
    const key = familyOf(dst) === 4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding";
    if (facts.sysctls[key] !== undefined && sysctlNumber(facts, key) === 0)
      return [
        dropHere(
          w,
          fibWhere,
          node,
          {
            reason: "ip-forward-off",
            node,
            message: `ip_forward is off on ${node} (${key} = ${facts.sysctls[key]}): it does not route ${showPacket(w.packet)}`,
            evidence: [`${key} = ${facts.sysctls[key]}`],
          },
          { commands: [{ node, command: `sysctl ${key}` }] },
        ),
      ];
    if (familyOf(dst) === 4 && at.iif) {
      const all = sysctlNumber(facts, "net.ipv4.conf.all.rp_filter") ?? 0;
      const dev = sysctlNumber(facts, `net.ipv4.conf.${at.iif}.rp_filter`) ?? 0;
      const mode = Math.max(all, dev);
      if (mode === 1) {
        const back = longestMatch(facts.routes, w.packet.src);
        if (back && back.dev !== undefined && back.dev !== at.iif)
          return [
            dropHere(
              w,
              fibWhere,
              node,
              {
                reason: "rp-filter",
                node,
                message: `strict reverse-path filter on ${node}: ${w.packet.src} arrived on ${at.iif} but ${node} routes it back via ${back.dev}`,
                evidence: [
                  `net.ipv4.conf.all.rp_filter = ${all}`,
                  `net.ipv4.conf.${at.iif}.rp_filter = ${dev}`,
                  `route back: ${back.dst} dev ${back.dev}`,
                ],
              },
              {
                commands: [
                  {
                    node,
                    command: `sysctl net.ipv4.conf.all.rp_filter net.ipv4.conf.${ifnameWord(at.iif)}.rp_filter`,
                  },
                ],
              },
            ),
          ];
      }
    }
  }
  const query =
    at.iif === DEFAULT_BRIDGE && at.arrival !== "local"
      ? { dst, from: w.packet.src, iif: DEFAULT_BRIDGE }
      : { dst };
  const decision = decideRoute(ctx.snapshot, facts, query);
  const commands = [{ node, command: routeCommand(query) }];
  if (decision.kind === "drop") {
    const dev = decision.route?.dev;
    const l2Commands =
      dev && (decision.drop.reason === "missing-fdb" || decision.drop.reason === "missing-neighbour")
        ? [
            {
              node,
              command: `ip neigh show dev ${ifnameWord(dev)}${decision.route?.via ? ` ${addressWord(decision.route.via)}` : ""}`,
            },
            { node, command: `bridge fdb show dev ${ifnameWord(dev)}` },
          ]
        : [];
    return [
      dropHere(w, fibWhere, node, decision.drop, {
        ...(decision.route ? { route: decision.route } : {}),
        commands: [...commands, ...l2Commands],
      }),
    ];
  }
  const next = decision.next;
  // br_netfilter's "bridged DNAT": a packet that came in on the bridge and whose new (NATed)
  // destination is on that same bridge is bridged to it, not routed — TTL unchanged.
  if (
    natHere &&
    at.iif === DEFAULT_BRIDGE &&
    next.kind === "bridge" &&
    next.dev === DEFAULT_BRIDGE &&
    bridgeNetfilter(facts, familyOf(dst))
  ) {
    w = with_(
      w,
      {},
      hop(w, {
        point: "bridge",
        node,
        where: `${node} ${DEFAULT_BRIDGE}`,
        description: `bridged (L2) to ${dst} after NAT: its new destination is on the same bridge (br_netfilter), TTL unchanged`,
        layer: "l2",
        iif: DEFAULT_BRIDGE,
        oif: DEFAULT_BRIDGE,
        route: decision.route,
        evidence: [...decision.evidence, bridgeNetfilterEvidence(facts, familyOf(dst))],
        commands: [...commands, { node, command: bridgeNetfilterCommand(familyOf(dst)) }],
      }),
    );
    return deliver(ctx, postrouting(ctx, w, facts, DEFAULT_BRIDGE), facts, DEFAULT_BRIDGE);
  }
  const ttl = w.ttl === undefined ? undefined : forwarding ? w.ttl - 1 : w.ttl;
  const oif = next.kind === "vxlan" ? next.vxlan.device : next.dev;
  w = with_(
    w,
    ttl === undefined ? {} : { ttl },
    hop(w, {
      point: "fib",
      node,
      where: fibWhere,
      description: describeNext(dst, decision.route.dst, next),
      ...(ttl !== undefined ? { ttl } : {}),
      layer: "l3",
      ...(at.iif ? { iif: at.iif } : {}),
      oif,
      route: decision.route,
      ...(next.kind === "vxlan" ? { vxlan: next.vxlan } : {}),
      evidence: decision.evidence,
      commands:
        next.kind === "vxlan"
          ? [
              ...commands,
              {
                node,
                command: `ip neigh show dev ${ifnameWord(next.vxlan.device)} ${addressWord(next.vxlan.vtep)}`,
              },
              { node, command: `bridge fdb show dev ${ifnameWord(next.vxlan.device)}` },
            ]
          : commands,
    }),
  );

  w = postrouting(ctx, w, facts, oif);
  return onward(ctx, w, facts, next, oif);
}

/** Postrouting: masquerade a new connection's first packet; un-DNAT a reply (conntrack). */
export function postrouting(ctx: WalkContext, w0: WalkState, facts: NodeFacts, oif: string): WalkState {
  let w = w0;
  const node = facts.node;
  // Each node keeps its own conntrack: a connection another node masqueraded is new here.
  if (w.direction === "forward" && !w.nat.some((n) => n.kind === "snat" && n.node === node)) {
    const m = masqueradeStep(ctx.snapshot, facts, w.packet, { marked: w.marked, dnatted: w.dnatted, oif });
    if (m) {
      const packet: PacketHeader = {
        proto: w.packet.proto,
        src: m.ip,
        dst: w.packet.dst,
        ...(w.packet.dport !== undefined ? { dport: w.packet.dport } : {}),
      };
      w = with_(
        w,
        { packet, nat: [...w.nat, { node, kind: "snat", before: w.packet, after: packet }] },
        hop(w, {
          point: "masquerade",
          node,
          where: `${node} nat-postrouting`,
          description: `masquerade to ${m.ip}${w.packet.proto === "icmp" ? "" : " (random port)"}: ${m.why}`,
          packet,
          before: w.packet,
          oif,
          evidence: m.evidence,
          commands: [
            {
              node,
              command: `nft list chain ${proxyTableOf(facts.nft, familyOf(w.packet.dst))} ${NAMES.natPostrouting}`,
            },
            { node, command: `conntrack -L -s ${addressWord(w.packet.src)}` },
          ],
        }),
      );
    }
  }
  if (w.direction === "reply") {
    const dnat = pendingUnDnat(w, node);
    if (dnat) w = unNat(w, node, dnat);
  }
  return w;
}

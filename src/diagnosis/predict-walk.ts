/**
 * Walks one packet through the cluster (pure), hop by hop, in the order the kernel handles it: a
 * pod's own route, the node's bridge, prerouting (reply un-SNAT, Service DNAT), the forward checks
 * (ip_forward, rp_filter), the FIB, postrouting (masquerade, reply un-DNAT) and the next hop. A
 * Service DNAT forks the walk: one branch per candidate endpoint.
 */
import { DEFAULT_BRIDGE } from "../cni/conflist.ts";
import { sameIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { PodRecord } from "../k8s/service-model.ts";
import { addressWord } from "./command-words.ts";
import { bridged } from "./predict-bridge.ts";
import { afterPrerouting } from "./predict-forwarding.ts";
import { podOnNode } from "./predict-next-hop.ts";
import { serviceStep } from "./predict-service.ts";
import {
  type At,
  dropHere,
  finish,
  hop,
  MAX_STEPS,
  unNat,
  type WalkContext,
  type WalkEnd,
  type WalkState,
  with_,
} from "./predict-state.ts";
import type { Drop, PacketHeader } from "./prediction-types.ts";
import { blockOwner, factsOf, localAddresses, longestMatch, podName } from "./trace-net.ts";

export type { At, NatRecord, WalkContext, WalkEnd, WalkState } from "./predict-state.ts";
export { showPacket } from "./predict-state.ts";

export function walk(ctx: WalkContext, w: WalkState): WalkEnd[] {
  if (w.steps > MAX_STEPS) {
    ctx.unknowns.push(`the ${w.direction} path is longer than ${MAX_STEPS} steps (a routing loop?)`);
    return [finish(w, "unknown")];
  }
  switch (w.at.kind) {
    case "pod":
      return atPod(ctx, w, w.at.pod);
    case "node":
      return atNode(ctx, w, w.at);
    case "external":
      return [finish(w, w.direction === "forward" ? "left-cluster" : "delivered")];
    default: {
      const never: never = w.at;
      throw new Error(`unhandled location ${JSON.stringify(never)}`);
    }
  }
}

function atPod(ctx: WalkContext, w: WalkState, pod: PodRecord): WalkEnd[] {
  const facts = factsOf(ctx.facts, pod.node);
  const name = podName(pod);
  const podFact = facts?.pods.find((p) => p.namespace === pod.namespace && p.name === pod.name);
  const ifname = podFact?.ifname ?? "eth0";
  let routes = podFact?.inside?.routes;
  if (!routes) {
    const owner = blockOwner(ctx.snapshot, pod.ips[0] ?? "");
    ctx.unknowns.push(
      `${name}'s own routes were not reported (${podFact?.insideError ?? `no facts from ${pod.node}`}): assumed a default route via its node's gateway`,
    );
    routes = owner
      ? [
          { dst: "default", dev: ifname, onlink: false, type: "unicast" },
          { dst: owner.block, dev: ifname, onlink: false, type: "unicast" },
        ]
      : [];
  }
  const route = longestMatch(routes, w.packet.dst);
  const where = `${pod.name} ${ifname}`;
  const commands = [{ pod: name, node: pod.node, command: `ip route get ${addressWord(w.packet.dst)}` }];
  if (route?.type !== "unicast")
    return [
      dropHere(
        w,
        where,
        pod.node,
        {
          reason: "no-route",
          node: pod.node,
          message: `${name} has no route for ${w.packet.dst}`,
          evidence: [
            `routes in ${name}: ${routes.map((r) => `${r.dst}${r.via ? ` via ${r.via}` : ""}`).join("; ") || "none"}`,
          ],
        },
        { pod: name, commands },
      ),
    ];
  const l2 = !route.via;
  const text = `${route.dst}${route.via ? ` via ${route.via}` : ""} dev ${route.dev ?? ifname}`;
  // On the pod's own subnet the pod resolves the destination's MAC itself: when nothing on the
  // node holds the address, its ARP/NDP request goes unanswered and the packet never leaves it.
  if (
    l2 &&
    facts &&
    !localAddresses(facts).some((a) => sameIP(a, w.packet.dst)) &&
    podOnNode(ctx, facts, w.packet.dst) === undefined
  )
    return [
      dropHere(
        w,
        where,
        pod.node,
        {
          reason: "no-pod",
          node: pod.node,
          message: `no pod holds ${w.packet.dst} on ${pod.node}: ${name}'s ARP/NDP request for it on its own subnet goes unanswered, so the packet never leaves the pod`,
          evidence: [
            `${name}: ${text}`,
            `pods on ${pod.node}: ${facts.pods.map((p) => `${p.name} ${p.ips.join(",")}`).join("; ") || "none"}`,
          ],
        },
        {
          pod: name,
          commands: [
            ...commands,
            { pod: name, node: pod.node, command: `ip neigh show ${addressWord(w.packet.dst)}` },
          ],
        },
      ),
    ];
  const h = hop(w, {
    point: "from-pod",
    node: pod.node,
    pod: name,
    where,
    description: l2
      ? `${w.packet.dst} is on ${name}'s own subnet (${text}): sent straight to its MAC`
      : `route ${text}: sent to the gateway`,
    oif: ifname,
    evidence: [`${name}: ${text}`],
    commands,
  });
  return walk(
    ctx,
    with_(
      w,
      { at: { kind: "node", node: pod.node, iif: DEFAULT_BRIDGE, arrival: l2 ? "pod-l2" : "pod-l3" } },
      h,
    ),
  );
}

function atNode(ctx: WalkContext, w0: WalkState, at: Extract<At, { kind: "node" }>): WalkEnd[] {
  const node = at.node;
  const facts = factsOf(ctx.facts, node);
  if (!facts)
    return [
      dropHere(w0, node, node, {
        reason: "agent-missing",
        node,
        message: `${node} did not report its kernel state: nothing is predicted past it`,
        evidence: [],
      }),
    ];
  let w = w0;
  const bridge = DEFAULT_BRIDGE;
  // prerouting: conntrack reverses a masquerade for a reply (the hop follows the arrival's).
  const snat =
    w.direction === "reply"
      ? w.nat.find(
          (n) =>
            n.kind === "snat" &&
            n.node === node &&
            sameIP(n.after.src, w.packet.dst) &&
            (n.after.sport === undefined || n.after.sport === w.packet.dport),
        )
      : undefined;
  const unNatted = snat !== undefined;
  const finalDst = snat?.before.src ?? w.packet.dst;
  const toHost = localAddresses(facts).some((a) => sameIP(a, finalDst));
  if (at.arrival === "pod-l2" && !unNatted && !toHost) return bridged(ctx, w, facts, bridge);
  if (at.arrival === "pod-l3" || at.arrival === "pod-l2")
    w = with_(
      w,
      {},
      hop(w, {
        point: "bridge",
        node,
        where: `${node} ${bridge}`,
        description: `to the gateway's MAC on ${bridge}: ${node} takes it in`,
        iif: bridge,
      }),
    );
  if (at.arrival === "overlay")
    w = with_(
      w,
      {},
      hop(w, {
        point: "from-overlay",
        node,
        where: `${node} ${at.iif ?? "podnet-vx"}`,
        description: `decapsulated by ${at.iif ?? "podnet-vx"}`,
        ...(at.iif ? { iif: at.iif } : {}),
      }),
    );
  if (at.arrival === "network")
    w = with_(
      w,
      {},
      hop(w, {
        point: "from-network",
        node,
        where: `${node} ${at.iif ?? facts.agent.uplink}`,
        description: `arrives from outside the cluster on ${at.iif ?? facts.agent.uplink}`,
        ...(at.iif ? { iif: at.iif } : {}),
      }),
    );
  if (snat) w = unNat(w, node, snat);

  // prerouting / output: the Service lookup, for a new connection.
  if (w.direction === "forward" && !w.dnatted) {
    const s = serviceStep(ctx.snapshot, facts, w.packet);
    if (s.kind === "reject") {
      const drop: Drop = { reason: s.reason, node, message: s.message, evidence: s.evidence };
      const h = hop(w, {
        point: "service-reject",
        node,
        where: `${node} nft podnet`,
        description: s.message,
        ...(s.service ? { service: s.service } : {}),
        drop,
        evidence: s.evidence,
        commands: s.commands,
      });
      return [finish(with_(w, {}, h), "refused", drop)];
    }
    if (s.kind === "dnat") {
      const hopBase = {
        point: "service-dnat" as const,
        node,
        where: `${node} nft podnet`,
        service: s.service,
        candidates: s.candidates,
        evidence: s.evidence,
        commands: s.commands,
      };
      return s.candidates.flatMap((c) => {
        const packet: PacketHeader = {
          ...w.packet,
          dst: c.ip,
          ...(c.port !== undefined ? { dport: c.port } : {}),
        };
        const h = hop(w, {
          ...hopBase,
          description: `${s.description}; this path: ${hostPort(c.ip, c.port)}${c.pod ? ` (${c.pod})` : ""}`,
          packet,
          before: w.packet,
        });
        const next = with_(
          w,
          {
            packet,
            dnatted: true,
            marked: w.marked || s.marked,
            endpoint: c,
            candidates: s.candidates,
            nat: [...w.nat, { node, kind: "dnat", before: w.packet, after: packet }],
          },
          h,
        );
        return afterPrerouting(ctx, next, facts, at, true);
      });
    }
  }
  return afterPrerouting(ctx, w, facts, at, unNatted);
}

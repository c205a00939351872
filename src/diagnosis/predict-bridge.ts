/**
 * A packet bridged between two pods of one node's bridge (pure): no routing, TTL unchanged — and,
 * without br_netfilter, invisible to the node's ip hooks, conntrack included.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { ifnameWord } from "./command-words.ts";
import {
  BRIDGED_UNOBSERVABLE,
  bridgeNetfilter,
  bridgeNetfilterCommand,
  bridgeNetfilterEvidence,
  pendingUnDnat,
  postrouting,
} from "./predict-forwarding.ts";
import { deliver } from "./predict-next-hop.ts";
import { dropHere, hop, type WalkContext, type WalkEnd, type WalkState, with_ } from "./predict-state.ts";
import { familyOf } from "./trace-net.ts";

/**
 * A packet bridged between two pods of one bridge. Without br_netfilter the node's ip hooks never
 * see it: its hops cannot be traced, and a reply that conntrack should un-DNAT (a Service's
 * endpoint answering a client on the same bridge) reaches the client with the endpoint's address.
 */
export function bridged(ctx: WalkContext, w: WalkState, facts: NodeFacts, bridge: string): WalkEnd[] {
  const node = facts.node;
  const family = familyOf(w.packet.dst);
  const netfilter = bridgeNetfilter(facts, family);
  const h = hop(w, {
    point: "bridge",
    node,
    where: `${node} ${bridge}`,
    description: `bridged (L2) to ${w.packet.dst} on ${bridge}: no routing, TTL unchanged`,
    layer: "l2",
    iif: bridge,
    oif: bridge,
    ...(netfilter
      ? {}
      : { unobservable: BRIDGED_UNOBSERVABLE, evidence: [bridgeNetfilterEvidence(facts, family)] }),
    commands: [
      { node, command: `bridge fdb show br ${ifnameWord(bridge)}` },
      ...(netfilter ? [] : [{ node, command: bridgeNetfilterCommand(family) }]),
    ],
  });
  const dnat = netfilter ? undefined : pendingUnDnat(w, node);
  if (dnat)
    return [
      dropHere(with_(w, {}, h), `${node} ${bridge}`, node, {
        reason: "reply-not-un-natted",
        node,
        message: `the reply ${hostPort(w.packet.src, w.packet.sport)} → ${hostPort(w.packet.dst, w.packet.dport)} is bridged straight back on ${bridge} without passing conntrack (br_netfilter off): its source stays the endpoint instead of ${hostPort(dnat.before.dst, dnat.before.dport)}, and the client drops it`,
        evidence: [bridgeNetfilterEvidence(facts, family)],
      }),
    ];
  const from = w.hops.length;
  const ends = deliver(ctx, postrouting(ctx, with_(w, {}, h), facts, bridge), facts, bridge);
  if (netfilter) return ends;
  // Everything past the bridge on this node (the delivery to the pod) is as invisible to tracing.
  return ends.map((e) => ({
    ...e,
    hops: e.hops.map((x, i) =>
      i > from && x.node === node && x.unobservable === undefined
        ? { ...x, unobservable: BRIDGED_UNOBSERVABLE }
        : x,
    ),
  }));
}

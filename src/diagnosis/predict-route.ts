/**
 * One node's routing decision for one packet (pure), from what the node reported: its answer to
 * the planned `ip route get` when it made that lookup, else the longest match in its main table;
 * then the next hop: a pod on its own bridge, a peer directly on the node network, a peer through
 * VXLAN (route → neighbour → FDB, the join people get wrong by hand), or out of the cluster.
 */

import type { NodeFacts, RouteFact } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV, VXLAN_PORT, VXLAN_VNI } from "../cluster/vxlan-convention.ts";

import { DEFAULT_BRIDGE } from "../cni/conflist.ts";
import { sameIP } from "../ipnet/address.ts";
import { isBirdRoute } from "./bgp-facts.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { addressWord, ifnameWord } from "./command-words.ts";
import { routeText } from "./fact-text.ts";
import type { Drop, RouteUsed, VxlanHop } from "./prediction-types.ts";
import {
  blockOwner,
  deviceAddresses,
  inAny,
  inPrefix,
  longestMatch,
  nodeByAddress,
  nodeByNodeIP,
} from "./trace-net.ts";

export type NextHop =
  /** To a pod (or the gateway) on this node's bridge. */
  | { readonly kind: "bridge"; readonly dev: string }
  /** Straight to a peer node over the node network. */
  | {
      readonly kind: "direct";
      readonly node: string;
      readonly via: string;
      readonly dev: string;
      readonly why: string;
      /** The route is BIRD's (proto bird), learned over BGP. */
      readonly bgp?: boolean;
    }
  /** Encapsulated to a peer node. */
  | { readonly kind: "vxlan"; readonly node?: string; readonly vxlan: VxlanHop; readonly why: string }
  /** To a router: out of the cluster, or to a peer node behind it. */
  | {
      readonly kind: "gateway";
      readonly via?: string;
      readonly dev: string;
      /** The node that owns the destination address, when it is a node behind the router. */
      readonly node?: string;
      /** The route is BIRD's (proto bird), learned over BGP: the router carries it to `node`. */
      readonly bgp?: boolean;
    };

export type RouteDecision =
  | { readonly kind: "next"; readonly route: RouteUsed; readonly next: NextHop; readonly evidence: string[] }
  | { readonly kind: "drop"; readonly route?: RouteUsed; readonly drop: Drop };

/** The node's connected subnets on its uplink ("192.0.2.0/24"). */
function uplinkSubnets(facts: NodeFacts): string {
  const subnets = facts.routes.filter(
    (r) =>
      r.dev === facts.agent.uplink &&
      r.proto === "kernel" &&
      r.dst !== "default" &&
      !r.dst.startsWith("fe80:"),
  );
  return subnets.map((r) => r.dst).join(", ") || facts.agent.uplink;
}

/** The subnet of `dev` on the node that contains `ip` ("192.0.2.0/24 on eth0"). */
function connectedSubnet(facts: NodeFacts, ip: string): string | undefined {
  for (const link of facts.interfaces)
    for (const a of link.addresses)
      if (a.includes("/") && inPrefix(ip, a)) {
        const route = facts.routes.find(
          (r) => r.dev === link.name && r.proto === "kernel" && inPrefix(ip, r.dst),
        );
        return `${route?.dst ?? a} on ${link.name}`;
      }
  return undefined;
}

export function findRoute(
  facts: NodeFacts,
  query: { dst: string; from?: string; iif?: string },
): { route?: RouteFact; error?: string; source: "lookup" | "table" } {
  const answers = facts.routeLookups.filter((l) => sameIP(l.query.dst, query.dst));
  const sameFrom = (a: string | undefined, b: string | undefined) =>
    a === undefined ? b === undefined : b !== undefined && sameIP(a, b);
  const exact = answers.find(
    (l) => sameFrom(l.query.from, query.from) && (l.query.iif ?? "") === (query.iif ?? ""),
  );
  if (exact)
    return {
      ...(exact.route ? { route: exact.route } : {}),
      ...(exact.error ? { error: exact.error } : {}),
      source: "lookup",
    };
  const route = longestMatch(facts.routes, query.dst);
  return route ? { route, source: "table" } : { source: "table" };
}

export function routeCommand(query: { dst: string; from?: string; iif?: string }): string {
  return `ip route get ${addressWord(query.dst)}${query.from && query.iif ? ` from ${addressWord(query.from)} iif ${ifnameWord(query.iif)}` : ""}`;
}

/**
 * Where `node` sends a packet for `dst` (arriving on `iif`, or originated by the node when
 * undefined).
 */
export function decideRoute(
  snapshot: ClusterSnapshot,
  facts: NodeFacts,
  query: { dst: string; from?: string; iif?: string },
): RouteDecision {
  const node = facts.node;
  const found = findRoute(facts, query);
  const cmd = routeCommand(query);
  const owner = blockOwner(snapshot, query.dst);
  const expected = owner && owner.node !== node ? ` (${owner.block} is ${owner.node}'s block)` : "";
  if (!found.route) {
    const message = `${node} has no route for ${query.dst}${expected}${found.error ? `: ${found.error}` : ""}`;
    return {
      kind: "drop",
      drop: {
        reason: "no-route",
        node,
        message,
        evidence: [`${cmd} → ${found.error ?? "no matching route"}`],
      },
    };
  }
  const r = found.route;
  // `ip route get` names the host ("10.244.3.2/32"); the table route it came from reads better.
  const table = found.source === "lookup" ? longestMatch(facts.routes, query.dst) : undefined;
  const routeDst =
    table && table.dev === r.dev && (table.via ?? "") === (r.via ?? "") && table.type === r.type
      ? table.dst
      : r.dst;
  const route: RouteUsed = {
    dst: routeDst,
    ...(r.via ? { via: r.via } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
    ...(r.onlink ? { onlink: true } : {}),
    source: found.source,
  };
  const evidence = [`${found.source === "lookup" ? cmd : `main table of ${node}`} → ${routeText(r)}`];
  if (r.type !== "unicast")
    return {
      kind: "drop",
      route,
      drop: { reason: "no-route", node, message: `${node} routes ${query.dst} as ${r.type}`, evidence },
    };
  const dev = r.dev ?? "";
  // A pod address in a peer's block that only the default route (or a non-node router) carries.
  const inCluster = inAny(query.dst, snapshot.config.clusterCidrs);
  const viaNode = r.via ? nodeByAddress(snapshot, r.via) : undefined;
  // BIRD's route to a peer's block, as the table holds it (`ip route get` names no protocol).
  const covering = found.source === "lookup" ? table : r;
  const bgp =
    covering !== undefined &&
    isBirdRoute(covering) &&
    (covering.via ?? "") === (r.via ?? "") &&
    owner !== undefined &&
    owner.node !== node &&
    inPrefix(query.dst, covering.dst);
  if (bgp && r.via && !viaNode) {
    return {
      kind: "next",
      route,
      next: { kind: "gateway", via: r.via, dev, node: owner.node, bgp: true },
      evidence,
    };
  }
  if (inCluster && owner && owner.node !== node && (r.dst === "default" || (r.via && !viaNode))) {
    return {
      kind: "drop",
      route,
      drop: {
        reason: "no-route",
        node,
        message: `${node} has no route for ${owner.block} (${owner.node}'s block): ${query.dst} follows ${routeText({ ...r, dst: routeDst })} out of the cluster`,
        evidence,
      },
    };
  }
  if (dev === DEFAULT_BRIDGE || (!r.via && facts.interfaces.find((i) => i.name === dev)?.kind === "bridge"))
    return { kind: "next", route, next: { kind: "bridge", dev }, evidence };

  const vxlanLink = facts.interfaces.find((i) => i.name === dev && i.kind === "vxlan");
  if (vxlanLink || dev === VXLAN_DEV) {
    const vtep = r.via ?? query.dst;
    const neighbour = facts.neighbours.find((n) => n.dev === dev && sameIP(n.address, vtep) && n.mac);
    const base = {
      device: dev,
      vni: vxlanLink?.vxlan?.vni ?? VXLAN_VNI,
      port: vxlanLink?.vxlan?.port ?? VXLAN_PORT,
      vtep,
    };
    if (!neighbour?.mac || neighbour.state.includes("FAILED") || neighbour.state.includes("INCOMPLETE"))
      return {
        kind: "drop",
        route,
        drop: {
          reason: "missing-neighbour",
          node,
          message: `${node} has no neighbour entry for VTEP ${vtep} on ${dev}: the packet cannot be encapsulated`,
          evidence: [
            ...evidence,
            `ip neigh show dev ${dev} ${vtep} → ${neighbour ? neighbour.state.join(",") : "nothing"}`,
          ],
        },
      };
    const fdb = facts.fdb.find(
      (f) => f.dev === dev && f.mac.toLowerCase() === neighbour.mac?.toLowerCase() && f.dst,
    );
    const peerByMac = snapshot.nodes.find((n) => n.vtepMac.toLowerCase() === neighbour.mac?.toLowerCase());
    if (!fdb?.dst)
      return {
        kind: "drop",
        route,
        drop: {
          reason: "missing-fdb",
          node,
          message: `${node} has no forwarding entry for ${neighbour.mac} on ${dev}${peerByMac ? ` (${peerByMac.name}'s VTEP)` : ""}: the VXLAN device does not know where to send it`,
          evidence: [
            ...evidence,
            `ip neigh show dev ${dev} ${vtep} → ${neighbour.mac}`,
            `bridge fdb show dev ${dev} → no entry for ${neighbour.mac}`,
          ],
        },
      };
    const outerSrc = vxlanLink?.vxlan?.local ?? facts.agent.nodeIPs[0];
    const peer = nodeByNodeIP(snapshot, fdb.dst);
    const vxlan: VxlanHop = {
      ...base,
      vtepMac: neighbour.mac,
      ...(outerSrc ? { outerSrc } : {}),
      outerDst: fdb.dst,
    };
    return {
      kind: "next",
      route,
      next: {
        kind: "vxlan",
        ...(peer ? { node: peer.name } : {}),
        vxlan,
        why: `${peer?.name ?? fdb.dst} (${fdb.dst}) is not on ${node}'s connected subnet (${uplinkSubnets(facts)})`,
      },
      evidence: [
        ...evidence,
        `ip neigh show dev ${dev} ${vtep} → ${neighbour.mac}`,
        `bridge fdb show dev ${dev} → ${neighbour.mac} dst ${fdb.dst}`,
      ],
    };
  }

  const via = r.via ?? query.dst;
  const peer = nodeByAddress(snapshot, via);
  if (peer && peer.name !== node) {
    const subnet = connectedSubnet(facts, via);
    return {
      kind: "next",
      route,
      next: {
        kind: "direct",
        node: peer.name,
        via,
        dev,
        why: `${peer.name} (${via}) is on ${node}'s connected subnet${subnet ? ` ${subnet}` : ""}`,
        ...(bgp ? { bgp: true } : {}),
      },
      evidence,
    };
  }
  const dstNode = nodeByAddress(snapshot, query.dst);
  return {
    kind: "next",
    route,
    next: {
      kind: "gateway",
      ...(r.via ? { via: r.via } : {}),
      dev,
      ...(dstNode && dstNode.name !== node ? { node: dstNode.name } : {}),
    },
    evidence,
  };
}

/** The address masquerade picks: the first address of the device the packet leaves by. */
export function masqueradeAddress(facts: NodeFacts, oif: string, family: 4 | 6): string | undefined {
  return deviceAddresses(facts, oif, family)[0];
}

/**
 * How each node should reach every pod block, and whether its kernel does (pure): the routes podnet's
 * agent would program (planPeerRoutes over a LocalView built from the node's own facts) against the
 * node's routes, neighbours and FDB entries; under BGP, BIRD's routes (drift-bgp-routes.ts), and
 * with \`auto\` and BGP peers which of BIRD's and podnet's routes is active. Used by explain (one
 * block) and by findDrift (all).
 */

import { type PeerRoute, planPeerRoutes } from "../agent/peer-routes.ts";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { formatIP, parseIP, sameIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import { isBirdRoute } from "./bgp-facts.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { addressWord, prefixWord } from "./command-words.ts";
import { bgpBlock, strayBirdRouteDrift, withBgpRoute } from "./drift-bgp-routes.ts";
import type { Drift } from "./drift-kinds.ts";
import type { BlockRoute } from "./explanation.ts";
import { fdbText, neighbourText, routeDst, routeText } from "./fact-text.ts";
import { localViewOf } from "./local-view.ts";

export { localViewOf };

/** rtnetlink protocol of podnet's peer routes (agent/route-diff.ts ROUTE_PROTO). */
const PEER_PROTO = "200";

export interface BlockExamination {
  readonly route: BlockRoute;
  readonly drift: readonly Drift[];
}

/** The node's route to `block` that is not BIRD's (podnet's, or one set by hand). */
function routeFor(facts: NodeFacts, block: string) {
  return facts.routes.find((r) => routeDst(r.dst) === block && !isBirdRoute(r));
}

function localBlock(facts: NodeFacts, block: string): BlockExamination {
  const r = routeFor(facts, block);
  const ok = r !== undefined && r.via === undefined && r.dev !== undefined && r.dev !== VXLAN_DEV;
  const command = `ip route show ${block}`;
  const route: BlockRoute = {
    node: facts.node,
    block,
    how: "local",
    ok,
    what: `${block} is this node's own block, on its bridge`,
    evidence: r ? routeText(r) : `no route for ${block}`,
    command,
  };
  const drift: Drift[] = ok
    ? []
    : [
        {
          node: facts.node,
          kind: r ? "wrong-route" : "missing-route",
          subject: block,
          problem: r
            ? `its own block ${block} is not routed to its bridge`
            : `its own block ${block} has no route`,
          evidence: route.evidence,
          command,
        },
      ];
  return { route, drift };
}

function directBlock(facts: NodeFacts, want: Extract<PeerRoute, { kind: "direct" }>): BlockExamination {
  const block = formatPrefix(want.block);
  const via = formatIP(want.via);
  const r = routeFor(facts, block);
  const ok = r !== undefined && r.via !== undefined && sameIP(r.via, via) && !r.onlink && r.dev !== VXLAN_DEV;
  const command = `ip route show ${block}`;
  const evidence = r ? routeText(r) : `no route for ${block}`;
  const route: BlockRoute = {
    node: facts.node,
    block,
    how: "direct",
    via,
    ok,
    what: `${block} via ${via} (${want.peer}, same segment: direct)`,
    evidence,
    command,
  };
  const drift: Drift[] = ok
    ? []
    : [
        {
          node: facts.node,
          kind: r ? "wrong-route" : "missing-route",
          subject: block,
          problem: r
            ? `routes ${want.peer}'s block ${block} wrongly: it should go via ${via} (direct)`
            : `has no route to ${want.peer}'s block ${block} (should be via ${via}, direct)`,
          evidence,
          command,
        },
      ];
  return { route, drift };
}

function vxlanBlock(facts: NodeFacts, want: Extract<PeerRoute, { kind: "vxlan" }>): BlockExamination {
  const block = formatPrefix(want.block);
  const vtep = formatIP(want.vtep);
  const underlay = formatIP(want.underlay);
  const mac = want.vtepMac.toLowerCase();
  const r = routeFor(facts, block);
  const routeOk =
    r !== undefined && r.via !== undefined && sameIP(r.via, vtep) && r.dev === VXLAN_DEV && r.onlink;
  const n = facts.neighbours.find((x) => x.dev === VXLAN_DEV && sameIP(x.address, vtep));
  const neighOk = n !== undefined && n.mac?.toLowerCase() === mac && !n.state.includes("FAILED");
  const f = facts.fdb.find((x) => x.dev === VXLAN_DEV && x.mac.toLowerCase() === mac);
  const fdbOk = f !== undefined && f.dst !== undefined && sameIP(f.dst, underlay);
  const routeEvidence = r ? routeText(r) : `no route for ${block}`;
  const neighEvidence = n ? neighbourText(n) : `no neighbour entry for ${vtep} on ${VXLAN_DEV}`;
  const fdbEvidence = f ? fdbText(f) : `no fdb entry for ${mac} on ${VXLAN_DEV}`;
  const drift: Drift[] = [];
  const add = (kind: Drift["kind"], problem: string, evidence: string, command: string) =>
    drift.push({ node: facts.node, kind, subject: block, problem, evidence, command });
  if (!routeOk) {
    add(
      r ? "wrong-route" : "missing-route",
      r
        ? `routes ${want.peer}'s block ${block} wrongly: it should go via ${vtep} dev ${VXLAN_DEV} onlink (VXLAN)`
        : `has no route to ${want.peer}'s block ${block} (should be via ${vtep} dev ${VXLAN_DEV} onlink, VXLAN)`,
      routeEvidence,
      `ip route show ${block}`,
    );
  }
  if (!neighOk) {
    add(
      n ? "stale-neighbour" : "missing-neighbour",
      n
        ? `its neighbour entry for ${want.peer}'s VTEP ${vtep} does not name ${mac}`
        : `has no neighbour entry for ${want.peer}'s VTEP ${vtep} (should be ${mac} PERMANENT)`,
      neighEvidence,
      `ip neigh show ${addressWord(vtep)} dev ${VXLAN_DEV}`,
    );
  }
  if (!fdbOk) {
    add(
      f ? "stale-fdb" : "missing-fdb",
      f
        ? `its fdb entry for ${want.peer}'s VTEP MAC ${mac} sends to ${f.dst ?? "nowhere"}, not ${underlay}`
        : `has no fdb entry for ${want.peer}'s VTEP MAC ${mac} (should send to ${underlay})`,
      fdbEvidence,
      `bridge fdb show dev ${VXLAN_DEV}`,
    );
  }
  const route: BlockRoute = {
    node: facts.node,
    block,
    how: "vxlan",
    via: vtep,
    vtepMac: mac,
    underlay,
    ok: drift.length === 0,
    what: `${block} via ${vtep} dev ${VXLAN_DEV} onlink, neighbour ${vtep} → ${mac}, fdb → ${underlay} (${want.peer}, other segment: VXLAN)`,
    evidence: [routeEvidence, neighEvidence, fdbEvidence].join("; "),
    command: `ip route show ${block}; ip neigh show dev ${VXLAN_DEV}; bridge fdb show dev ${VXLAN_DEV}`,
  };
  return { route, drift };
}

/** How `facts.node` should reach `block` and whether it does; `others`: the other nodes' facts. */
export function examineBlock(
  snapshot: ClusterSnapshot,
  facts: NodeFacts,
  blockText: string,
  others: readonly NodeFacts[] = [],
): BlockExamination {
  const block = routeDst(blockText);
  const view = localViewOf(snapshot, facts);
  if (view.ownBlocks.some((b) => formatPrefix(b) === block)) return localBlock(facts, block);
  const plan = planPeerRoutes(view, snapshot.nodes);
  const want = plan.routes.find((r) => formatPrefix(r.block) === block);
  if (want?.kind === "direct")
    return withBgpRoute(view, facts, want.peer, directBlock(facts, want), formatIP(want.via));
  if (want?.kind === "vxlan") return withBgpRoute(view, facts, want.peer, vxlanBlock(facts, want));
  if (want?.kind === "bgp")
    return bgpBlock(
      view,
      facts,
      want,
      others.find((o) => o.node === want.peer),
    );
  const skipped = plan.skipped.find((s) => routeDst(s.block) === block);
  // `auto` with BGP: a peer its backend cannot reach (a bgp node: no VXLAN device) is BIRD's to route.
  const peer = skipped === undefined ? undefined : snapshot.nodes.find((n) => n.name === skipped.peer);
  if (skipped && peer && view.bgpBackup && view.blockProblem(peer.name, parsePrefix(block)) === undefined) {
    const nextHop = peer.nodeIPs.map(parseIP).find((ip) => ip.family === parsePrefix(block).family);
    const bgp = {
      kind: "bgp",
      peer: peer.name,
      block: parsePrefix(block),
      ...(nextHop ? { nextHop } : {}),
    } as const;
    return bgpBlock(
      view,
      facts,
      bgp,
      others.find((o) => o.node === peer.name),
    );
  }
  const reason = skipped ? `${skipped.peer}: ${skipped.reason}` : "no node announces this block";
  const r = routeFor(facts, block);
  return {
    route: {
      node: facts.node,
      block,
      how: "not-routed",
      reason,
      ok: false,
      what: `${block} is not routed by podnet on this node`,
      evidence: r ? `${routeText(r)} (${reason})` : reason,
      command: `ip route show ${block}`,
    },
    drift: [],
  };
}

/** Every block's route on every answering node, plus podnet routes, neighbours and fdb entries no peer needs. */
export function peerRouteDrift(
  snapshot: ClusterSnapshot,
  facts: NodeFacts,
  others: readonly NodeFacts[] = [],
): Drift[] {
  const view = localViewOf(snapshot, facts);
  const plan = planPeerRoutes(view, snapshot.nodes);
  const drift: Drift[] = [];
  const blocks = new Set(snapshot.nodes.flatMap((n) => n.blocks.map(routeDst)));
  for (const b of facts.agent.blocks) blocks.add(routeDst(b));
  for (const block of blocks) drift.push(...examineBlock(snapshot, facts, block, others).drift);
  drift.push(...strayBirdRouteDrift(snapshot, facts, view));
  const wanted = new Set(plan.routes.filter((r) => r.kind !== "bgp").map((r) => formatPrefix(r.block)));
  for (const r of facts.routes) {
    if (r.proto === PEER_PROTO && !wanted.has(routeDst(r.dst))) {
      drift.push({
        node: facts.node,
        kind: "wrong-route",
        subject: routeDst(r.dst),
        problem: `has a podnet route (proto ${PEER_PROTO}) for ${routeDst(r.dst)}, which no peer holds`,
        evidence: routeText(r),
        command: `ip route show ${prefixWord(routeDst(r.dst))}`,
      });
    }
  }
  const vx = plan.routes.filter((r): r is Extract<PeerRoute, { kind: "vxlan" }> => r.kind === "vxlan");
  for (const f of facts.fdb) {
    if (f.dev !== VXLAN_DEV || !f.flags.includes("permanent")) continue;
    if (f.mac === "00:00:00:00:00:00") continue;
    if (vx.some((r) => r.vtepMac.toLowerCase() === f.mac.toLowerCase())) continue;
    drift.push({
      node: facts.node,
      kind: "stale-fdb",
      subject: f.mac,
      problem: `has an fdb entry for ${f.mac}, the VTEP MAC of no peer it reaches through VXLAN`,
      evidence: fdbText(f),
      command: `bridge fdb show dev ${VXLAN_DEV}`,
    });
  }
  for (const n of facts.neighbours) {
    if (n.dev !== VXLAN_DEV || !n.state.includes("PERMANENT")) continue;
    if (vx.some((r) => sameIP(formatIP(r.vtep), n.address))) continue;
    drift.push({
      node: facts.node,
      kind: "stale-neighbour",
      subject: n.address,
      problem: `has a neighbour entry for ${n.address} on ${VXLAN_DEV}, the VTEP of no peer it reaches through VXLAN`,
      evidence: neighbourText(n),
      command: `ip neigh show dev ${VXLAN_DEV}`,
    });
  }
  return drift;
}

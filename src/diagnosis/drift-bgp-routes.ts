/**
 * Peer blocks under BGP (pure). With the bgp backend a node's route to a peer's block is BIRD's
 * (proto bird), learned from the segment's router: via the owner's node IP when the owner shares
 * the node's segment, else via the router (the iBGP next hop resolved through the default route).
 * A missing route is told apart by its cause: no BGP session up on the node, or sessions up but
 * BIRD never learned the block. A BIRD route for the node's own block or for a block nobody holds
 * is drift too: BIRD accepted what it should not have.
 */
import type { LocalView, PeerRoute } from "../agent/peer-routes.ts";
import type { NodeFacts, RouteFact } from "../cluster/diagnosis-protocol.ts";
import { formatIP, sameIP } from "../ipnet/address.ts";
import { containsIP, formatPrefix } from "../ipnet/prefix.ts";
import { bgpDownReason, birdRouteCommands, isBirdRoute } from "./bgp-facts.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { prefixWord } from "./command-words.ts";
import type { Drift } from "./drift-kinds.ts";
import type { BlockRoute } from "./explanation.ts";
import { routeDst, routeText } from "./fact-text.ts";
import { inAny } from "./trace-net.ts";

export interface BgpBlockExamination {
  readonly route: BlockRoute;
  readonly drift: readonly Drift[];
}

/** BIRD's route to `block` on the node, if it installed one. */
export function birdRouteFor(facts: NodeFacts, block: string): RouteFact | undefined {
  return facts.routes.find((r) => routeDst(r.dst) === block && isBirdRoute(r));
}

/** Why the block's owner does not announce it (from its own facts), or undefined when it may. */
function ownerReason(owner: NodeFacts | undefined, block: string): string | undefined {
  if (owner === undefined) return undefined;
  const down = bgpDownReason(owner);
  if (down !== undefined) return `${owner.node} cannot announce it: ${down}`;
  const announced = owner.bgp?.announced.map(routeDst) ?? [];
  return announced.includes(block) ? undefined : `${owner.node}'s BIRD does not announce it`;
}

/**
 * How `facts.node` should reach a peer's block that BGP carries, and whether it does; `owner`
 * (the peer's facts, when it answered) tells a block its owner never announced apart.
 */
export function bgpBlock(
  view: LocalView,
  facts: NodeFacts,
  want: Extract<PeerRoute, { kind: "bgp" }>,
  owner?: NodeFacts,
): BgpBlockExamination {
  const block = formatPrefix(want.block);
  const hop = want.nextHop;
  const sameSegment = hop !== undefined && view.connected.some((c) => containsIP(c, hop));
  const hopText = hop === undefined ? undefined : formatIP(hop);
  const expected = sameSegment
    ? `via ${hopText} (${want.peer}, same segment)`
    : `via the segment's router (${want.peer} is on another segment)`;
  const r = birdRouteFor(facts, block);
  const other = facts.routes.find((x) => routeDst(x.dst) === block && !isBirdRoute(x));
  const wrongHop = r !== undefined && sameSegment && (r.via === undefined || !sameIP(r.via, hopText ?? ""));
  const ok = r !== undefined && r.via !== undefined && !wrongHop;
  const command = birdRouteCommands(facts, block);
  const evidence = r ? routeText(r) : other ? `only ${routeText(other)}` : `no route for ${block}`;
  const route: BlockRoute = {
    node: facts.node,
    block,
    how: "bgp",
    ...(r?.via !== undefined ? { via: r.via } : {}),
    ok,
    what: `${block} ${expected}: BIRD's route (proto bird), learned over BGP`,
    evidence,
    command: `ip route show ${prefixWord(block)}; ${command}`,
  };
  if (ok) return { route, drift: [] };
  const down = r === undefined ? bgpDownReason(facts) : undefined;
  const unannounced = r === undefined && down === undefined ? ownerReason(owner, block) : undefined;
  const problem =
    r !== undefined
      ? `routes ${want.peer}'s block ${block} through BIRD wrongly: it should go ${expected}`
      : down !== undefined
        ? `has no BGP route to ${want.peer}'s block ${block}: ${down}`
        : unannounced !== undefined
          ? `has no BGP route to ${want.peer}'s block ${block}: ${unannounced}`
          : `has no BGP route to ${want.peer}'s block ${block}, with its BGP sessions up: BIRD has not learned ${want.peer}'s block, or its route is gone from the kernel (BIRD puts it back at its next kernel scan)`;
  const drift: Drift = {
    node: facts.node,
    kind: r ? "wrong-route" : "missing-route",
    subject: block,
    problem,
    evidence,
    command,
  };
  return { route, drift: [drift] };
}

/** BIRD routes for the node's own blocks, or for pod blocks of the cluster that no node holds. */
export function strayBirdRouteDrift(snapshot: ClusterSnapshot, facts: NodeFacts, view: LocalView): Drift[] {
  const own = new Set(view.ownBlocks.map(formatPrefix));
  const held = new Set(snapshot.blocks.map((b) => routeDst(b.block)));
  for (const n of snapshot.nodes) for (const b of n.blocks) held.add(routeDst(b));
  const drift: Drift[] = [];
  for (const r of facts.routes) {
    if (!isBirdRoute(r) || r.dst === "default") continue;
    const dst = routeDst(r.dst);
    const problem = own.has(dst)
      ? `has a BGP route (proto bird) for its own block ${dst}: BIRD accepted its own block back`
      : !held.has(dst) && inClusterCidr(snapshot, dst)
        ? `has a BGP route (proto bird) for ${dst}, a pod block no node holds`
        : undefined;
    if (problem === undefined) continue;
    drift.push({
      node: facts.node,
      kind: "wrong-route",
      subject: dst,
      problem,
      evidence: routeText(r),
      command: birdRouteCommands(facts, dst),
    });
  }
  return drift;
}

function inClusterCidr(snapshot: ClusterSnapshot, prefix: string): boolean {
  const ip = prefix.split("/")[0] ?? "";
  return inAny(ip, snapshot.config.clusterCidrs);
}

/**
 * BIRD's route to a block podnet routes directly or through VXLAN. With `auto` and BGP peers it is
 * the active one (metric 32 over podnet's 1024) and must go the right way: via the owner's node IP
 * when the owner shares the segment (`sameSegmentVia`), via some gateway otherwise. Without BGP
 * peers it is a leftover of a BIRD (an IPv6 one even wins over podnet's route): drift either way.
 */
export function withBgpRoute(
  view: LocalView,
  facts: NodeFacts,
  peer: string,
  e: BgpBlockExamination,
  sameSegmentVia?: string,
): BgpBlockExamination {
  const block = e.route.block;
  const bird = birdRouteFor(facts, block);
  if (bird === undefined) return e;
  const text = routeText(bird);
  const command = `ip route show ${prefixWord(block)} proto bird`;
  const wrong = (problem: string, what: string): BgpBlockExamination => ({
    route: { ...e.route, ok: false, bgpRoute: text, what: `${e.route.what}; ${what}` },
    drift: [
      ...e.drift,
      { node: facts.node, kind: "wrong-route", subject: block, problem, evidence: text, command },
    ],
  });
  if (!view.bgpBackup)
    return wrong(
      `has a BGP route (proto bird) for ${peer}'s block ${block} although it runs ${view.backend} without BGP peers: a leftover of a BIRD`,
      `also BIRD's route ${text}, which nothing should have installed`,
    );
  const goes = bird.via !== undefined && (sameSegmentVia === undefined || sameIP(bird.via, sameSegmentVia));
  if (!goes)
    return wrong(
      `routes ${peer}'s block ${block} through BIRD wrongly: it should go via ${sameSegmentVia ?? "the segment's router"}`,
      `active: BIRD's route ${text} (metric 32), which goes the wrong way`,
    );
  const what = `${e.route.what}; active: BIRD's route ${text} (metric 32), podnet's is the backup (metric 1024)`;
  return { ...e, route: { ...e.route, bgpRoute: text, what } };
}

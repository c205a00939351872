/**
 * The links between the nodes of the map (pure), from the routes the nodes really have to their
 * peers' blocks: podnet's (proto 200, direct or through VXLAN) and BIRD's (proto bird, learned over
 * BGP). Each is ok unless findDrift finds fault with that block's route on that node — the verdict
 * explain gives the block. A peer block a node should route but does not is a broken link. A route
 * whose next hop is a router's address (a BGP route to a peer on another segment) goes through
 * that router, and says which.
 */

import type { NodeFacts, RouteFact } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { isBirdRoute } from "../diagnosis/bgp-facts.ts";
import type { ClusterSnapshot } from "../diagnosis/cluster-snapshot.ts";
import type { Drift } from "../diagnosis/drift.ts";
import { examineBlock } from "../diagnosis/drift-peer-routes.ts";
import { routeDst, routeText } from "../diagnosis/fact-text.ts";
import { sameIP } from "../ipnet/address.ts";
import type { LinkKind, MapLink, MapRouter } from "./map-types.ts";

/** rtnetlink protocol of podnet's peer routes (agent/route-diff.ts ROUTE_PROTO). */
const PEER_PROTO = "200";
/** Drift kinds that concern the route of one block from one node (BIRD's included: drift-bgp-routes.ts). */
const LINK_DRIFT: ReadonlySet<string> = new Set([
  "missing-route",
  "wrong-route",
  "missing-fdb",
  "stale-fdb",
  "missing-neighbour",
  "stale-neighbour",
]);

/** Where the map put things: its routers, and the segment (cidr) of each node. */
export interface LinkPlaces {
  readonly routers: readonly MapRouter[];
  readonly segmentOf: ReadonlyMap<string, string>;
}

function linkDrift(drift: readonly Drift[], from: string, block: string): boolean {
  return drift.some((d) => d.node === from && d.subject === block && LINK_DRIFT.has(d.kind));
}

function routeKind(r: RouteFact): LinkKind | undefined {
  if (isBirdRoute(r)) return "bgp";
  if (r.proto !== PEER_PROTO) return undefined;
  return r.dev === VXLAN_DEV ? "vxlan" : "direct";
}

/** The router holding `via`, when the route's next hop is a router (never for a VXLAN route: its next hop is a VTEP). */
function routerOf(places: LinkPlaces, via: string | undefined): string | undefined {
  if (via === undefined) return undefined;
  return places.routers.find((r) => r.addresses.some((a) => sameIP(a, via)))?.name;
}

/** The router a missing BGP route should go through: `from`'s segment's, when the owner is on another. */
function expectedRouter(places: LinkPlaces, from: string, to: string): string | undefined {
  const mine = places.segmentOf.get(from);
  const theirs = places.segmentOf.get(to);
  if (mine === undefined || theirs === undefined || mine === theirs) return undefined;
  return places.routers.find((r) => r.segments.includes(mine))?.name;
}

export function buildLinks(
  snapshot: ClusterSnapshot,
  facts: readonly NodeFacts[],
  drift: readonly Drift[],
  places: LinkPlaces,
): MapLink[] {
  const owners = new Map(snapshot.blocks.map((b) => [routeDst(b.block), b.node]));
  for (const n of snapshot.nodes)
    for (const b of n.blocks) if (!owners.has(routeDst(b))) owners.set(routeDst(b), n.name);
  const links: MapLink[] = [];
  for (const f of facts) {
    const seen = new Set<string>();
    for (const r of f.routes) {
      const kind = routeKind(r);
      if (kind === undefined) continue;
      const block = routeDst(r.dst);
      const to = owners.get(block);
      if (to === undefined || to === f.node) continue;
      seen.add(block);
      const router = kind === "vxlan" ? undefined : routerOf(places, r.via);
      links.push({
        from: f.node,
        to,
        kind,
        block,
        route: routeText(r),
        ...(router !== undefined ? { router } : {}),
        ok: !linkDrift(drift, f.node, block),
      });
    }
    // A peer block the node should route but does not: a broken link, drawn as such.
    for (const [block, to] of owners) {
      if (to === f.node || seen.has(block)) continue;
      const exam = examineBlock(snapshot, f, block, facts);
      const how = exam.route.how;
      if (how !== "direct" && how !== "vxlan" && how !== "bgp") continue;
      const router = how === "bgp" ? expectedRouter(places, f.node, to) : undefined;
      links.push({
        from: f.node,
        to,
        kind: how,
        block,
        route: exam.route.evidence,
        ...(router !== undefined ? { router } : {}),
        ok: false,
      });
    }
  }
  return links.sort(
    (a, b) =>
      a.from.localeCompare(b.from) ||
      a.to.localeCompare(b.to) ||
      a.block.localeCompare(b.block) ||
      a.kind.localeCompare(b.kind),
  );
}

/**
 * The map `podnet ui` draws, from the datastore's snapshot and the nodes' latest kernel facts
 * (pure): segments from each node's uplink subnet, the routers from their default routes (joined
 * into the routers the operator named, map-routers.ts), every
 * block with its pods, the links the agents' real peer routes (proto 200) make — each marked ok
 * unless findDrift finds fault with it — Services with their endpoints, and the drift itself.
 */

import type { NodeFacts, RouteFact } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import type { ClusterSnapshot } from "../diagnosis/cluster-snapshot.ts";
import { type Drift, findDrift } from "../diagnosis/drift.ts";
import { examineBlock } from "../diagnosis/drift-peer-routes.ts";
import { routeDst, routeText } from "../diagnosis/fact-text.ts";
import { prefixOrUndefined } from "../diagnosis/trace-net.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import {
  containsIP,
  firstIP,
  formatPrefix,
  type IPPrefix,
  nthIP,
  parseInterfaceCIDR,
  prefixSize,
} from "../ipnet/prefix.ts";
import { isHeadless } from "../k8s/service-model.ts";
import { buildMapRouters, joinHosts } from "./map-routers.ts";
import {
  type ClusterMap,
  type LinkKind,
  MAP_SCHEMA,
  type MapBlock,
  type MapDrift,
  type MapHost,
  type MapLink,
  type MapNode,
  type MapPod,
  type MapSegment,
  type MapService,
  type NamedRouter,
} from "./map-types.ts";

/** rtnetlink protocol of podnet's peer routes (agent/route-diff.ts ROUTE_PROTO). */
const PEER_PROTO = "200";
/** Drift kinds that concern the route of one block from one node. */
const LINK_DRIFT: ReadonlySet<string> = new Set([
  "missing-route",
  "wrong-route",
  "missing-fdb",
  "stale-fdb",
  "missing-neighbour",
  "stale-neighbour",
]);

export interface MissingNode {
  readonly node: string;
  readonly reason: string;
}

function interfacePrefix(cidr: string): { ip: string; prefix: IPPrefix } | undefined {
  try {
    const { ip, prefix } = parseInterfaceCIDR(cidr);
    return { ip: formatIP(ip), prefix };
  } catch {
    return undefined;
  }
}

/** The connected subnet of the node's uplink that holds a node IP (or its first address's). */
function uplinkSegment(facts: NodeFacts): IPPrefix | undefined {
  const uplink = facts.interfaces.find((i) => i.name === facts.agent.uplink);
  const prefixes = (uplink?.addresses ?? []).map(interfacePrefix).filter((p) => p !== undefined);
  const nodeIPs = facts.agent.nodeIPs.map(tryParseIP).filter((ip) => ip !== undefined);
  const holding = prefixes.find((p) => nodeIPs.some((ip) => containsIP(p.prefix, ip)));
  return (holding ?? prefixes[0])?.prefix;
}

function defaultGateways(routes: readonly RouteFact[]): string[] {
  return routes.filter((r) => r.dst === "default" && r.via !== undefined).map((r) => r.via ?? "");
}

function buildSegments(
  snapshot: ClusterSnapshot,
  facts: readonly NodeFacts[],
): { segments: MapSegment[]; segmentOf: Map<string, string> } {
  const byCidr = new Map<string, { prefix: IPPrefix; routers: Set<string>; nodes: Set<string> }>();
  const segmentOf = new Map<string, string>();
  for (const f of facts) {
    const prefix = uplinkSegment(f);
    if (prefix === undefined) continue;
    const cidr = formatPrefix(prefix);
    const seg = byCidr.get(cidr) ?? { prefix, routers: new Set<string>(), nodes: new Set<string>() };
    byCidr.set(cidr, seg);
    seg.nodes.add(f.node);
    for (const gw of defaultGateways(f.routes)) {
      const ip = tryParseIP(gw);
      if (ip !== undefined && containsIP(prefix, ip)) seg.routers.add(formatIP(ip));
    }
    segmentOf.set(f.node, cidr);
  }
  // A node without facts sits on the segment holding its node IP, when one is known.
  for (const n of snapshot.nodes) {
    if (segmentOf.has(n.name)) continue;
    const ips = n.nodeIPs.map(tryParseIP).filter((ip) => ip !== undefined);
    for (const [cidr, seg] of byCidr) {
      if (ips.some((ip) => containsIP(seg.prefix, ip))) {
        seg.nodes.add(n.name);
        segmentOf.set(n.name, cidr);
        break;
      }
    }
  }
  const segments = [...byCidr.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([cidr, seg]) => ({ cidr, routers: [...seg.routers].sort(), nodes: [...seg.nodes].sort() }));
  return { segments, segmentOf };
}

function blockSize(prefix: IPPrefix): number {
  // Network address, gateway and (IPv4) broadcast are not given to pods.
  const reserved = prefix.family === 4 ? 3n : 2n;
  const size = prefixSize(prefix) - reserved;
  if (size < 0n) return 0;
  return size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
}

function podsIn(snapshot: ClusterSnapshot, prefix: IPPrefix, node: string): MapPod[] {
  const out: MapPod[] = [];
  for (const p of snapshot.pods) {
    if (p.node !== node) continue;
    const inBlock = p.ips.find((text) => {
      const ip = tryParseIP(text);
      return ip !== undefined && containsIP(prefix, ip);
    });
    if (inBlock === undefined) continue;
    out.push({
      namespace: p.namespace,
      name: p.name,
      ip: inBlock,
      otherIPs: p.ips.filter((ip) => ip !== inBlock),
      labels: p.labels,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.namespace.localeCompare(b.namespace));
}

function buildBlocks(snapshot: ClusterSnapshot, node: string, facts: NodeFacts | undefined): MapBlock[] {
  const runsVxlan = facts?.interfaces.some((i) => i.name === VXLAN_DEV) ?? false;
  const record = snapshot.nodes.find((n) => n.name === node);
  const cidrs = new Set([
    ...snapshot.blocks.filter((b) => b.node === node).map((b) => routeDst(b.block)),
    ...(record?.blocks ?? []).map(routeDst),
  ]);
  const out: MapBlock[] = [];
  for (const cidr of [...cidrs].sort()) {
    const prefix = prefixOrUndefined(cidr);
    if (prefix === undefined) continue;
    const pods = podsIn(snapshot, prefix, node);
    const lease = snapshot.blocks.find((b) => routeDst(b.block) === cidr);
    out.push({
      cidr,
      size: blockSize(prefix),
      used: pods.length,
      leased: lease?.leased ?? true,
      gateway: formatIP(nthIP(prefix, 1n)),
      ...(runsVxlan ? { vtep: formatIP(firstIP(prefix)) } : {}),
      pods,
    });
  }
  return out;
}

function linkDrift(drift: readonly Drift[], from: string, block: string): boolean {
  return drift.some((d) => d.node === from && d.subject === block && LINK_DRIFT.has(d.kind));
}

function buildLinks(
  snapshot: ClusterSnapshot,
  facts: readonly NodeFacts[],
  drift: readonly Drift[],
): MapLink[] {
  const owners = new Map(snapshot.blocks.map((b) => [routeDst(b.block), b.node]));
  for (const n of snapshot.nodes)
    for (const b of n.blocks) if (!owners.has(routeDst(b))) owners.set(routeDst(b), n.name);
  const links: MapLink[] = [];
  for (const f of facts) {
    const seen = new Set<string>();
    for (const r of f.routes) {
      if (r.proto !== PEER_PROTO) continue;
      const block = routeDst(r.dst);
      const to = owners.get(block);
      if (to === undefined || to === f.node) continue;
      seen.add(block);
      const kind: LinkKind = r.dev === VXLAN_DEV ? "vxlan" : "direct";
      links.push({
        from: f.node,
        to,
        kind,
        block,
        route: routeText(r),
        ok: !linkDrift(drift, f.node, block),
      });
    }
    // A peer block the node should route but does not: a broken link, drawn as such.
    for (const [block, to] of owners) {
      if (to === f.node || seen.has(block)) continue;
      const exam = examineBlock(snapshot, f, block);
      const how = exam.route.how;
      if (how !== "direct" && how !== "vxlan") continue;
      links.push({ from: f.node, to, kind: how, block, route: exam.route.evidence, ok: false });
    }
  }
  return links.sort(
    (a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.block.localeCompare(b.block),
  );
}

function buildServices(snapshot: ClusterSnapshot): MapService[] {
  return snapshot.services
    .map(({ service, endpoints }) => ({
      namespace: service.namespace,
      name: service.name,
      clusterIPs: service.clusterIPs,
      ...(isHeadless(service) ? { headless: true } : {}),
      ports: service.ports.map((p) => ({
        protocol: p.protocol,
        port: p.port,
        targetPort: p.targetPort,
        ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
      })),
      endpoints: endpoints.map((e) => ({ ip: e.ip, pod: e.pod, node: e.node })),
    }))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

const mapDrift = (d: Drift): MapDrift => ({
  node: d.node,
  kind: d.kind,
  subject: d.subject,
  problem: d.problem,
  command: d.command,
});

/**
 * The map of the cluster at `snapshot`, with the facts of the nodes that answered; `routers` are the
 * ones the operator named, checked by named-router.ts.
 */
export function buildClusterMap(
  snapshot: ClusterSnapshot,
  facts: readonly NodeFacts[],
  missing: readonly MissingNode[],
  hosts: readonly MapHost[],
  version: number,
  now: Date,
  routers: readonly NamedRouter[] = [],
): ClusterMap {
  // Facts of nodes the datastore no longer lists are stale: left out.
  const known = new Set(snapshot.nodes.map((n) => n.name));
  const current = facts.filter((f) => known.has(f.node));
  const missingNow = missing.filter((m) => known.has(m.node) && !current.some((f) => f.node === m.node));
  const drift = findDrift(snapshot, current, missingNow);
  const { segments, segmentOf } = buildSegments(snapshot, current);
  const mapRouters = buildMapRouters(segments, routers);
  const nodes: MapNode[] = [...snapshot.nodes]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => {
      const f = current.find((x) => x.node === n.name);
      const segment = segmentOf.get(n.name);
      return {
        name: n.name,
        nodeIPs: n.nodeIPs,
        backend: f?.agent.backend ?? n.backend,
        ...(segment !== undefined ? { segment } : {}),
        blocks: buildBlocks(snapshot, n.name, f),
        answering: f !== undefined,
      };
    });
  const collected = current.map((f) => f.collectedAt).sort();
  const factsAt = collected[collected.length - 1];
  return {
    schema: MAP_SCHEMA,
    version,
    generatedAt: now.toISOString(),
    store: snapshot.store,
    revision: snapshot.revision,
    clusterCidrs: snapshot.config.clusterCidrs,
    serviceCidrs: snapshot.config.serviceCidrs,
    segments,
    routers: mapRouters,
    nodes,
    links: buildLinks(snapshot, current, drift),
    services: buildServices(snapshot),
    hosts: joinHosts(hosts, mapRouters),
    drift: drift.map(mapDrift),
    missing: missingNow.map((m) => ({ node: m.node, reason: m.reason })),
    ...(factsAt !== undefined ? { factsAt } : {}),
  };
}

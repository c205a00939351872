/**
 * The map `podnet ui` draws, from the datastore's snapshot and the nodes' latest kernel facts
 * (pure): segments from each node's uplink subnet, the routers from their default routes (joined
 * into the routers the operator named, map-routers.ts), every
 * block with its pods and each node's BIRD at a glance, the links the nodes' real peer routes make
 * (map-links.ts: podnet's and BIRD's, each marked ok unless findDrift finds fault with it),
 * Services with their endpoints, and the drift itself.
 */

import type { NodeFacts, RouteFact } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { isEstablished } from "../diagnosis/bgp-facts.ts";
import type { ClusterSnapshot } from "../diagnosis/cluster-snapshot.ts";
import { type Drift, findDrift } from "../diagnosis/drift.ts";
import { routeDst } from "../diagnosis/fact-text.ts";
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
import { buildLinks } from "./map-links.ts";
import { buildMapRouters, joinHosts } from "./map-routers.ts";
import {
  type ClusterMap,
  MAP_SCHEMA,
  type MapBlock,
  type MapDrift,
  type MapHost,
  type MapNode,
  type MapNodeBgp,
  type MapPod,
  type MapSegment,
  type MapService,
  type NamedRouter,
} from "./map-types.ts";

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

/** The node's BIRD at a glance, when it speaks BGP or should (as explain's bgp part: explain-bgp.ts). */
function nodeBgp(f: NodeFacts): MapNodeBgp | undefined {
  const b = f.bgp;
  if (b === undefined || (!b.enabled && f.agent.backend !== "bgp")) return undefined;
  return {
    enabled: b.enabled,
    running: b.running,
    sessions: b.sessions.length,
    established: b.sessions.filter(isEstablished).length,
  };
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
      const bgp = f === undefined ? undefined : nodeBgp(f);
      return {
        name: n.name,
        nodeIPs: n.nodeIPs,
        backend: f?.agent.backend ?? n.backend,
        ...(segment !== undefined ? { segment } : {}),
        blocks: buildBlocks(snapshot, n.name, f),
        answering: f !== undefined,
        ...(bgp !== undefined ? { bgp } : {}),
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
    links: buildLinks(snapshot, current, drift, { routers: mapRouters, segmentOf }),
    services: buildServices(snapshot),
    hosts: joinHosts(hosts, mapRouters),
    drift: drift.map(mapDrift),
    missing: missingNow.map((m) => ({ node: m.node, reason: m.reason })),
    ...(factsAt !== undefined ? { factsAt } : {}),
  };
}

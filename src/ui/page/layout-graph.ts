/**
 * The ELK graph of a ClusterMap (pure): routers on top (one box per router, however many
 * addresses it holds), joined to the segments they serve below them and to the outside hosts; each
 * segment a box packing its nodes in rows (rectpacking wraps 50 nodes instead of one endless row,
 * FINDINGS §3); each node a box of blocks; each block a box of pods, or one summary box when the
 * block is collapsed; Services and outside hosts in boxes of their own. Lines between nodes and to
 * Service endpoints are drawn by the page over the layout, not routed by ELK.
 */
import type { ElkNode } from "elkjs/lib/elk-api";
import type { ClusterMap, MapBlock, MapNode, MapPod, MapRouter, MapService } from "../map-types.ts";

export const POD_BOX = { width: 132, height: 34 } as const;
export const SERVICE_BOX = { width: 200, lineHeight: 14, top: 34 } as const;
export const HOST_BOX = { width: 170, height: 48 } as const;
/** A router box: its name on top, then one line per address. */
export const ROUTER_BOX = { width: 150, top: 26, lineHeight: 15, charWidth: 7.2 } as const;
/** Blocks with more pods than this start collapsed. */
export const COLLAPSE_OVER = 40;
/** With more nodes than this every block starts collapsed. */
export const COLLAPSE_ALL_OVER_NODES = 20;

export const ids = {
  router: (name: string) => `router:${name}`,
  segment: (cidr: string) => `segment:${cidr}`,
  node: (name: string) => `node:${name}`,
  block: (node: string, cidr: string) => `block:${node}:${cidr}`,
  blockSummary: (node: string, cidr: string) => `summary:${node}:${cidr}`,
  /** By the block's address too: a dual-stack pod is drawn once in each of its blocks. */
  pod: (pod: MapPod) => `pod:${pod.namespace}/${pod.name}@${pod.ip}`,
  service: (svc: MapService) => `service:${svc.namespace}/${svc.name}`,
  host: (ip: string) => `host:${ip}`,
  services: "group:services",
  hosts: "group:hosts",
  unplaced: "segment:?",
} as const;

/** Whether a block is drawn collapsed: the user's choice, else by its size and the cluster's. */
export function isCollapsed(
  map: ClusterMap,
  node: MapNode,
  block: MapBlock,
  choices: ReadonlyMap<string, boolean>,
): boolean {
  const chosen = choices.get(ids.block(node.name, block.cidr));
  if (chosen !== undefined) return chosen;
  return block.pods.length > COLLAPSE_OVER || map.nodes.length > COLLAPSE_ALL_OVER_NODES;
}

function routerBox(r: MapRouter): { width: number; height: number } {
  const longest = Math.max(r.name.length, ...r.addresses.map((a) => a.length));
  return {
    width: Math.max(ROUTER_BOX.width, Math.ceil(longest * ROUTER_BOX.charWidth) + 24),
    height: ROUTER_BOX.top + r.addresses.length * ROUTER_BOX.lineHeight,
  };
}

/**
 * The routers an outside host is joined to: those on its subnet when the map knows them, else
 * every router (as when no router was named).
 */
export function hostRouters(map: ClusterMap): string[] {
  const all = map.routers.map((r) => r.name);
  if (map.hosts.some((h) => h.routers === undefined || h.routers.length === 0)) return all;
  const joined = new Set(map.hosts.flatMap((h) => h.routers ?? []));
  return all.filter((name) => joined.has(name));
}

function serviceHeight(svc: MapService): number {
  const lines = svc.clusterIPs.length + (svc.headless === true ? 1 : 0) + svc.ports.length;
  return SERVICE_BOX.top + lines * SERVICE_BOX.lineHeight + 8;
}

const pad = (top: number, side = 8) => `[top=${top},left=${side},bottom=${side},right=${side}]`;

function blockBox(
  map: ClusterMap,
  node: MapNode,
  block: MapBlock,
  choices: ReadonlyMap<string, boolean>,
): ElkNode {
  const collapsed = isCollapsed(map, node, block, choices);
  const children: ElkNode[] = collapsed
    ? [{ id: ids.blockSummary(node.name, block.cidr), width: POD_BOX.width * 1.5, height: POD_BOX.height }]
    : block.pods.map((p) => ({ id: ids.pod(p), ...POD_BOX }));
  return {
    id: ids.block(node.name, block.cidr),
    layoutOptions: {
      "elk.algorithm": "rectpacking",
      "elk.aspectRatio": "1.6",
      "elk.padding": pad(50, 6),
      "elk.spacing.nodeNode": "6",
      "elk.nodeSize.constraints": "MINIMUM_SIZE",
      "elk.nodeSize.minimum": "(200, 60)",
    },
    // An empty block still needs room for its header.
    ...(children.length === 0 ? { width: 200, height: 60 } : { children }),
  };
}

function nodeBox(map: ClusterMap, node: MapNode, choices: ReadonlyMap<string, boolean>): ElkNode {
  const blocks = node.blocks.map((b) => blockBox(map, node, b, choices));
  return {
    id: ids.node(node.name),
    layoutOptions: {
      "elk.algorithm": "rectpacking",
      "elk.padding": pad(44),
      "elk.spacing.nodeNode": "8",
      "elk.nodeSize.constraints": "MINIMUM_SIZE",
      "elk.nodeSize.minimum": "(220, 60)",
    },
    ...(blocks.length === 0 ? { width: 220, height: 60 } : { children: blocks }),
  };
}

const groupOptions = (top: number) => ({
  "elk.algorithm": "rectpacking",
  "elk.aspectRatio": "2.2",
  "elk.padding": pad(top, 12),
  "elk.spacing.nodeNode": "16",
});

/** The graph ELK lays out; `choices` holds the blocks the user collapsed (true) or opened (false). */
export function layoutGraph(map: ClusterMap, choices: ReadonlyMap<string, boolean> = new Map()): ElkNode {
  const children: ElkNode[] = [];
  const edges: { id: string; sources: string[]; targets: string[] }[] = [];
  for (const r of map.routers) {
    children.push({ id: ids.router(r.name), ...routerBox(r) });
    for (const cidr of r.segments)
      edges.push({
        id: `edge:${r.name}:${cidr}`,
        sources: [ids.router(r.name)],
        targets: [ids.segment(cidr)],
      });
  }
  const placed = new Set<string>();
  for (const seg of map.segments) {
    const nodes = map.nodes.filter((n) => n.segment === seg.cidr || seg.nodes.includes(n.name));
    for (const n of nodes) placed.add(n.name);
    children.push({
      id: ids.segment(seg.cidr),
      // Room above the nodes for the arcs of the links between them.
      layoutOptions: groupOptions(64),
      ...(nodes.length === 0
        ? { width: 220, height: 60 }
        : { children: nodes.map((n) => nodeBox(map, n, choices)) }),
    });
  }
  const unplaced = map.nodes.filter((n) => !placed.has(n.name));
  if (unplaced.length > 0)
    children.push({
      id: ids.unplaced,
      layoutOptions: groupOptions(64),
      children: unplaced.map((n) => nodeBox(map, n, choices)),
    });
  if (map.hosts.length > 0) {
    children.push({
      id: ids.hosts,
      layoutOptions: groupOptions(30),
      children: map.hosts.map((h) => ({ id: ids.host(h.ip), ...HOST_BOX })),
    });
    for (const name of hostRouters(map))
      edges.push({ id: `edge:${name}:hosts`, sources: [ids.hosts], targets: [ids.router(name)] });
  }
  if (map.services.length > 0) {
    children.push({
      id: ids.services,
      layoutOptions: groupOptions(30),
      children: map.services.map((s) => ({
        id: ids.service(s),
        width: SERVICE_BOX.width,
        height: serviceHeight(s),
      })),
    });
    // Keeps the Services below the segments whose pods they send to.
    for (const seg of map.segments)
      edges.push({
        id: `order:${seg.cidr}:services`,
        sources: [ids.segment(seg.cidr)],
        targets: [ids.services],
      });
    if (unplaced.length > 0)
      edges.push({ id: "order:unplaced:services", sources: [ids.unplaced], targets: [ids.services] });
  }
  return {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.spacing.nodeNode": "40",
      "elk.layered.spacing.nodeNodeBetweenLayers": "50",
      "elk.padding": pad(20, 20),
    },
    children,
    edges,
  };
}

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Every laid-out box by id, in the root's coordinates (ELK gives children relative to their parent). */
export function absoluteBoxes(laid: ElkNode): Map<string, Box> {
  const out = new Map<string, Box>();
  const walk = (n: ElkNode, ox: number, oy: number) => {
    const x = ox + (n.x ?? 0);
    const y = oy + (n.y ?? 0);
    out.set(n.id, { x, y, width: n.width ?? 0, height: n.height ?? 0 });
    for (const c of n.children ?? []) walk(c, x, y);
  };
  walk(laid, 0, 0);
  return out;
}

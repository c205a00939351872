import { describe, expect, test } from "bun:test";
import ELK from "elkjs/lib/elk.bundled.js";
import { LAB_FACTS } from "../../diagnosis/fixtures/lab-facts.ts";
import { LAB_NOW, LAB_SNAPSHOT } from "../../diagnosis/fixtures/lab-snapshot.ts";
import { buildClusterMap } from "../cluster-map.ts";
import type { ClusterMap, MapNode } from "../map-types.ts";
import {
  absoluteBoxes,
  type Box,
  COLLAPSE_OVER,
  hostRouters,
  ids,
  isCollapsed,
  layoutGraph,
} from "./layout-graph.ts";

const HOSTS = [{ name: "external", ip: "203.0.113.10", note: "outside" }];
const LAB_MAP = buildClusterMap(LAB_SNAPSHOT, LAB_FACTS, [], HOSTS, 1, LAB_NOW);

const inside = (a: Box, b: Box) =>
  a.x >= b.x && a.y >= b.y && a.x + a.width <= b.x + b.width + 0.5 && a.y + a.height <= b.y + b.height + 0.5;

/** A map of `nodes` nodes with `pods` pods each, on one segment. */
function bigMap(nodes: number, pods: number): ClusterMap {
  const list: MapNode[] = Array.from({ length: nodes }, (_, i) => ({
    name: `node${i}`,
    nodeIPs: [`192.0.2.${i + 10}`],
    backend: "vxlan",
    segment: "192.0.2.0/24",
    answering: true,
    blocks: [
      {
        cidr: `10.244.${i}.0/24`,
        size: 253,
        used: pods,
        leased: true,
        gateway: `10.244.${i}.1`,
        pods: Array.from({ length: pods }, (_, k) => ({
          namespace: "default",
          name: `pod-${i}-${k}`,
          ip: `10.244.${i}.${k + 2}`,
          otherIPs: [],
          labels: {},
        })),
      },
    ],
  }));
  return {
    ...LAB_MAP,
    segments: [{ cidr: "192.0.2.0/24", routers: ["192.0.2.1"], nodes: list.map((n) => n.name) }],
    routers: [{ name: "192.0.2.1", addresses: ["192.0.2.1"], segments: ["192.0.2.0/24"] }],
    nodes: list,
    links: [],
    services: [],
  };
}

describe("layoutGraph", () => {
  test("routers above segments, nodes in their segment, blocks in their node, pods in their block", async () => {
    const laid = await new ELK().layout(layoutGraph(LAB_MAP));
    const boxes = absoluteBoxes(laid);
    for (const seg of LAB_MAP.segments) {
      const s = boxes.get(ids.segment(seg.cidr));
      expect(s).toBeDefined();
      for (const r of LAB_MAP.routers.filter((x) => x.segments.includes(seg.cidr)))
        expect((boxes.get(ids.router(r.name))?.y ?? Infinity) < (s?.y ?? 0)).toBe(true);
      for (const name of seg.nodes) expect(inside(boxes.get(ids.node(name)) as Box, s as Box)).toBe(true);
    }
    let pods = 0;
    for (const n of LAB_MAP.nodes) {
      const nb = boxes.get(ids.node(n.name)) as Box;
      for (const b of n.blocks) {
        const bb = boxes.get(ids.block(n.name, b.cidr)) as Box;
        expect(inside(bb, nb)).toBe(true);
        for (const p of b.pods) {
          expect(inside(boxes.get(ids.pod(p)) as Box, bb)).toBe(true);
          pods++;
        }
      }
    }
    expect(pods).toBeGreaterThan(0);
    for (const s of LAB_MAP.services) expect(boxes.has(ids.service(s))).toBe(true);
    expect(boxes.has(ids.host("203.0.113.10"))).toBe(true);
  });

  test("a named router is one box above both segments it serves, joined to them and to its host", async () => {
    const map = buildClusterMap(
      LAB_SNAPSHOT,
      LAB_FACTS,
      [],
      [{ name: "external", ip: "203.0.113.100", note: "outside", cidr: "203.0.113.0/24" }],
      1,
      LAB_NOW,
      [
        { name: "router", addresses: ["192.0.2.1", "198.51.100.1", "203.0.113.1"] },
        { name: "spare", addresses: ["100.64.0.1"] },
      ],
    );
    const graph = layoutGraph(map);
    const routerBoxes = (graph.children ?? []).filter((c) => c.id.startsWith("router:"));
    expect(routerBoxes.map((c) => c.id)).toEqual([ids.router("router"), ids.router("spare")]);
    // Room for its name and its three addresses.
    expect(routerBoxes[0]?.height ?? 0).toBeGreaterThan(routerBoxes[1]?.height ?? 0);
    const wires = (graph.edges ?? [])
      .filter((e) => e.id.startsWith("edge:"))
      .map((e) => [e.sources, e.targets]);
    expect(wires).toEqual([
      [[ids.router("router")], [ids.segment("192.0.2.0/24")]],
      [[ids.router("router")], [ids.segment("198.51.100.0/24")]],
      // The outside host reaches the router on its subnet only.
      [[ids.hosts], [ids.router("router")]],
    ]);
    const boxes = absoluteBoxes(await new ELK().layout(graph));
    for (const seg of map.segments)
      expect(
        (boxes.get(ids.router("router"))?.y ?? Infinity) < (boxes.get(ids.segment(seg.cidr))?.y ?? 0),
      ).toBe(true);
  });

  test("an outside host with no router known on its subnet is joined to every router", () => {
    expect(hostRouters(LAB_MAP)).toEqual(["192.0.2.1", "198.51.100.1"]);
    expect(hostRouters({ ...LAB_MAP, hosts: [] })).toEqual([]);
  });

  test("a block over the limit is one summary box until the user opens it", () => {
    const map = bigMap(2, COLLAPSE_OVER + 1);
    const node = map.nodes[0] as MapNode;
    const block = node.blocks[0] as MapNode["blocks"][number];
    const id = ids.block(node.name, block.cidr);
    expect(isCollapsed(map, node, block, new Map())).toBe(true);
    const closed = layoutGraph(map).children?.find((c) => c.id === ids.segment("192.0.2.0/24"));
    const closedBlock = closed?.children?.[0]?.children?.[0];
    expect(closedBlock?.children?.map((c) => c.id)).toEqual([ids.blockSummary(node.name, block.cidr)]);
    const open = layoutGraph(map, new Map([[id, false]])).children?.find(
      (c) => c.id === ids.segment("192.0.2.0/24"),
    );
    expect(open?.children?.[0]?.children?.[0]?.children).toHaveLength(COLLAPSE_OVER + 1);
    expect(isCollapsed(bigMap(2, 3), node, { ...block, pods: block.pods.slice(0, 3) }, new Map())).toBe(
      false,
    );
  });

  test("a dual-stack pod gets one box in each of its blocks, each inside its own block", async () => {
    const base = bigMap(1, 1);
    const node = base.nodes[0] as MapNode;
    const v4 = node.blocks[0] as MapNode["blocks"][number];
    const pod = v4.pods[0] as MapNode["blocks"][number]["pods"][number];
    const v6 = {
      ...v4,
      cidr: "fd00:10:244::/120",
      gateway: "fd00:10:244::1",
      pods: [{ ...pod, ip: "fd00:10:244::2", otherIPs: [pod.ip] }],
    };
    const dual: MapNode = {
      ...node,
      blocks: [{ ...v4, pods: [{ ...pod, otherIPs: ["fd00:10:244::2"] }] }, v6],
    };
    const map: ClusterMap = { ...base, nodes: [dual] };
    const boxes = absoluteBoxes(await new ELK().layout(layoutGraph(map)));
    const [a, b] = dual.blocks.map((block) => {
      const p = block.pods[0] as MapNode["blocks"][number]["pods"][number];
      const box = boxes.get(ids.pod(p)) as Box;
      expect(inside(box, boxes.get(ids.block(dual.name, block.cidr)) as Box)).toBe(true);
      return box;
    });
    expect(ids.pod(dual.blocks[0]?.pods[0] as MapNode["blocks"][number]["pods"][number])).not.toBe(
      ids.pod(dual.blocks[1]?.pods[0] as MapNode["blocks"][number]["pods"][number]),
    );
    expect(a).not.toEqual(b);
  });

  test("50 nodes × 20 pods wrap into rows instead of one endless row", async () => {
    const laid = await new ELK().layout(layoutGraph(bigMap(50, 20)));
    expect(laid.width ?? 0).toBeLessThan(8000);
    expect(laid.height ?? 0).toBeGreaterThan(0);
  });
});

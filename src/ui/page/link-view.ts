/// <reference lib="dom" />
/**
 * The lines between nodes (link-lines.ts): an arc straight between the nodes, or a line up to the
 * router their routes go through and down to the peer; labelled direct, VXLAN or BGP, drift in the
 * warning style, every route in the tooltip.
 */
import type { ClusterMap } from "../map-types.ts";
import { type Box, ids } from "./layout-graph.ts";
import { type LinkLine, linkLines } from "./link-lines.ts";
import { svgEl, svgText, svgTitle } from "./svg-dom.ts";

interface Point {
  readonly x: number;
  readonly y: number;
}

/** An arc over the nodes; its label at the arc's middle. */
function arc(a: Box, b: Box): { paths: string[]; label: Point } {
  const ax = a.x + a.width / 2;
  const ay = a.y + 10;
  const bx = b.x + b.width / 2;
  const by = b.y + 10;
  const mx = (ax + bx) / 2;
  const my = Math.min(ay, by) - 40 - Math.abs(ax - bx) / 12;
  return {
    paths: [`M${ax},${ay} Q${mx},${my} ${bx},${by}`],
    label: { x: (ax + 2 * mx + bx) / 4, y: (ay + 2 * my + by) / 4 },
  };
}

/**
 * Up from each node to the router's lower edge. Two paths, each starting at the router, so the
 * halves several lines share (router → a node) dash alike. The label sits on the first node's half,
 * three quarters of the way down (near its node: the labels of lines into one router stay apart).
 */
function throughRouter(a: Box, r: Box, b: Box): { paths: string[]; label: Point } {
  const rx = r.x + r.width / 2;
  const ry = r.y + r.height;
  const half = (n: Box) => {
    const x = n.x + n.width / 2;
    const mid = (n.y + ry) / 2;
    // The cubic Bézier below at t = 3/4: weights 1/64, 9/64, 27/64, 27/64.
    const label = { x: (10 * rx + 54 * x) / 64, y: (ry + 36 * mid + 27 * n.y) / 64 };
    return { d: `M${rx},${ry} C${rx},${mid} ${x},${mid} ${x},${n.y}`, label };
  };
  const first = half(a);
  return { paths: [first.d, half(b).d], label: first.label };
}

function drawLine(parent: Element, line: LinkLine, boxes: ReadonlyMap<string, Box>): void {
  const a = boxes.get(ids.node(line.from));
  const b = boxes.get(ids.node(line.to));
  if (a === undefined || b === undefined) return;
  const r = line.router === undefined ? undefined : boxes.get(ids.router(line.router));
  const shape = r === undefined ? arc(a, b) : throughRouter(a, r, b);
  const g = svgEl(
    "g",
    {
      class: `link ${line.style}${line.ok ? "" : " warn"}`,
      "data-kind": "link",
      "data-name": `${line.from}-${line.to}`,
      "data-link-kinds": [...new Set(line.links.map((l) => l.kind))].join(" "),
      "data-router": line.router,
    },
    parent,
  );
  for (const d of shape.paths) svgEl("path", { d }, g);
  const { x, y } = shape.label;
  svgEl(
    "rect",
    {
      x: x - line.label.length * 3.4 - 4,
      y: y - 9,
      width: line.label.length * 6.8 + 8,
      height: 14,
      rx: 3,
      class: "link-label-bg",
    },
    g,
  );
  svgText(g, x, y + 2, line.label, "link-label", { "text-anchor": "middle" });
  svgTitle(g, line.tooltip);
}

/** One line per pair of nodes and way (straight or through a router); both directions' routes in its tooltip. */
export function drawLinks(
  parent: Element,
  map: ClusterMap,
  boxes: ReadonlyMap<string, Box>,
  focus: string | undefined,
): void {
  for (const line of linkLines(map, focus)) drawLine(parent, line, boxes);
}

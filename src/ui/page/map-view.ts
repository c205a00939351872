/// <reference lib="dom" />
/**
 * Draws a laid-out ClusterMap into SVG: routers and segments, nodes (name, node IP, backend, BGP),
 * blocks (used/free bar, gateway, VTEP) with their pods or a collapsed summary, outside hosts,
 * Services (ClusterIPs, ports, NodePorts); then the lines over them — direct/VXLAN/BGP links between
 * nodes and Service → endpoint lines — and drift in the warning style with its text.
 * Every pod/node/service/host/router/gateway/VTEP element carries data-kind, data-name and
 * data-ip; clicking an address asks for its explanation.
 */
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import type { ClusterMap, MapBlock, MapNode, MapPod, MapRouter } from "../map-types.ts";
import { type Box, ids, ROUTER_BOX } from "./layout-graph.ts";
import { drawLinks } from "./link-view.ts";
import { clickable, type Drift, driftIndex, type MapDrawing, type MapHandlers, tagged } from "./map-hooks.ts";
import { nodeBgpText } from "./node-bgp-text.ts";
import { drawServices } from "./service-view.ts";
import { shorten, svgEl, svgText, svgTitle } from "./svg-dom.ts";

export type { MapDrawing, MapHandlers } from "./map-hooks.ts";

function drawPod(parent: Element, pod: MapPod, b: Box, drift: Drift, h: MapHandlers): void {
  const problems = drift.about(pod.ip, pod.name, `${pod.namespace}/${pod.name}`);
  const g = svgEl(
    "g",
    { transform: `translate(${b.x},${b.y})`, class: problems.length > 0 ? "pod warn" : "pod" },
    parent,
  );
  tagged(g, "pod", pod.name, pod.ip);
  g.setAttribute("data-namespace", pod.namespace);
  svgEl("rect", { width: b.width, height: b.height, rx: 5 }, g);
  svgText(g, 7, 14, shorten(pod.name, 19), "pod-name");
  svgText(g, 7, 28, pod.ip, "addr", { "data-address": pod.ip });
  if (problems.length > 0) svgText(g, b.width - 14, 14, "⚠", "warn-mark");
  const labels = Object.entries(pod.labels).map(([k, v]) => `${k}=${v}`);
  svgTitle(g, [`${pod.namespace}/${pod.name}`, pod.ip, ...pod.otherIPs, ...labels, ...problems].join("\n"));
  clickable(g, pod.ip, h);
}

function drawBlock(
  parent: Element,
  node: MapNode,
  block: MapBlock,
  boxes: ReadonlyMap<string, Box>,
  drift: Drift,
  h: MapHandlers,
  podBoxes: Map<string, Box>,
): void {
  const id = ids.block(node.name, block.cidr);
  const b = boxes.get(id);
  if (b === undefined) return;
  const problems = drift.about(block.cidr);
  const warn = problems.length > 0 || !block.leased;
  const g = svgEl(
    "g",
    { class: warn ? "block warn" : "block", "data-kind": "block", "data-name": block.cidr },
    parent,
  );
  svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 6 }, g);
  const toggle = svgText(g, b.x + 8, b.y + 15, `${block.cidr}`, "block-title");
  svgText(g, b.x + b.width - 8, b.y + 15, `${block.used}/${block.size} used`, "block-usage", {
    "text-anchor": "end",
  });
  // The used/free bar: how full the block is at a glance.
  const barW = b.width - 16;
  svgEl("rect", { x: b.x + 8, y: b.y + 21, width: barW, height: 5, rx: 2, class: "bar-free" }, g);
  svgEl(
    "rect",
    {
      x: b.x + 8,
      y: b.y + 21,
      width: block.size > 0 ? (barW * Math.min(block.used, block.size)) / block.size : 0,
      height: 5,
      rx: 2,
      class: "bar-used",
    },
    g,
  );
  const gw = svgText(g, b.x + 8, b.y + 40, `gw ${block.gateway}`, "addr small", {
    "data-kind": "gateway",
    "data-name": `${node.name} gateway`,
    "data-ip": block.gateway,
    "data-address": block.gateway,
  });
  clickable(gw, block.gateway, h);
  if (block.vtep !== undefined) {
    const vt = svgText(g, b.x + b.width - 8, b.y + 40, `vtep ${block.vtep}`, "addr small", {
      "text-anchor": "end",
      "data-kind": "vtep",
      "data-name": `${node.name} vtep`,
      "data-ip": block.vtep,
      "data-address": block.vtep,
    });
    clickable(vt, block.vtep, h);
  }
  const tip = [
    `block ${block.cidr} on ${node.name}`,
    `${block.used} used, ${block.size - block.used} free`,
    block.leased ? "leased" : "in grace: its node left",
    ...problems,
  ];
  svgTitle(g, tip.join("\n"));
  if (!block.leased) svgText(g, b.x + 8, b.y + b.height + 12, "not leased (node left)", "warn-text");

  const summary = boxes.get(ids.blockSummary(node.name, block.cidr));
  const userCollapsed = summary !== undefined;
  toggle.classList.add("toggle");
  toggle.textContent = `${userCollapsed ? "▸" : "▾"} ${block.cidr}`;
  toggle.addEventListener("click", (ev) => {
    ev.stopPropagation();
    h.onToggleBlock(id, !userCollapsed);
  });
  if (summary !== undefined) {
    const s = svgEl(
      "g",
      { class: "summary clickable", "data-kind": "block-summary", "data-name": block.cidr },
      g,
    );
    svgEl("rect", { x: summary.x, y: summary.y, width: summary.width, height: summary.height, rx: 5 }, s);
    svgText(s, summary.x + 8, summary.y + 21, `▸ ${block.pods.length} pods — show`, "summary-text");
    svgTitle(s, block.pods.map((p) => `${p.name} ${p.ip}`).join("\n"));
    s.addEventListener("click", (ev) => {
      ev.stopPropagation();
      h.onToggleBlock(id, false);
    });
    for (const p of block.pods) podBoxes.set(p.ip, summary);
    return;
  }
  for (const p of block.pods) {
    const pb = boxes.get(ids.pod(p));
    if (pb === undefined) continue;
    podBoxes.set(p.ip, pb);
    drawPod(g, p, pb, drift, h);
  }
}

function drawNode(
  parent: Element,
  node: MapNode,
  boxes: ReadonlyMap<string, Box>,
  drift: Drift,
  h: MapHandlers,
  podBoxes: Map<string, Box>,
): void {
  const b = boxes.get(ids.node(node.name));
  if (b === undefined) return;
  const problems = drift.byNode.get(node.name) ?? [];
  const cls = ["node", problems.length > 0 ? "warn" : "", node.answering ? "" : "silent"].join(" ").trim();
  const g = svgEl("g", { class: cls }, parent);
  tagged(g, "node", node.name, node.nodeIPs[0]);
  svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 8, class: "node-box" }, g);
  const title = svgText(g, b.x + 10, b.y + 18, node.name, "node-name");
  title.classList.add("clickable");
  // The node's panel: its node IP explained (its BGP part included), and only its links on big maps.
  title.addEventListener("click", (ev) => {
    ev.stopPropagation();
    h.onFocusNode(node.name);
    const ip = node.nodeIPs[0];
    if (ip !== undefined) h.onAddress(ip);
  });
  let x = b.x + 10;
  for (const ip of node.nodeIPs) {
    const t = svgText(g, x, b.y + 34, ip, "addr", {
      "data-kind": "node-ip",
      "data-name": node.name,
      "data-ip": ip,
      "data-address": ip,
    });
    clickable(t, ip, h);
    x += ip.length * 7.2 + 10;
  }
  svgText(g, x, b.y + 34, node.backend, "backend");
  const bgp = node.bgp === undefined ? undefined : nodeBgpText(node.bgp);
  // No data-kind: the search finds the node, not its BGP state.
  if (bgp !== undefined)
    svgText(g, x + node.backend.length * 6.6 + 10, b.y + 34, bgp.text, `bgp-state${bgp.down ? " down" : ""}`);
  const flags: string[] = [];
  if (!node.answering) flags.push("agent not answering");
  if (problems.length > 0) flags.push(`⚠ ${problems.length} drift`);
  if (flags.length > 0)
    svgText(g, b.x + b.width - 10, b.y + 18, flags.join(" · "), "warn-text", { "text-anchor": "end" });
  svgTitle(
    g,
    [`${node.name} (${node.backend})`, ...node.nodeIPs, ...(bgp ? [bgp.detail] : []), ...problems].join("\n"),
  );
  for (const block of node.blocks) drawBlock(g, node, block, boxes, drift, h, podBoxes);
}

/** One box per router: its name, then each address it holds (each opens its explanation). */
function drawRouter(parent: Element, r: MapRouter, boxes: ReadonlyMap<string, Box>, h: MapHandlers): void {
  const b = boxes.get(ids.router(r.name));
  if (b === undefined) return;
  const g = svgEl("g", { class: "router" }, parent);
  tagged(g, "router", r.name, r.addresses[0]);
  svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 20 }, g);
  // A router named by its only address is titled "router": the address is on the next line.
  const title = r.addresses.length === 1 && r.addresses[0] === r.name ? "router" : r.name;
  svgText(g, b.x + b.width / 2, b.y + 16, title, "router-title", { "text-anchor": "middle" });
  r.addresses.forEach((ip, i) => {
    const t = svgText(g, b.x + b.width / 2, b.y + 31 + i * ROUTER_BOX.lineHeight, ip, "addr", {
      "text-anchor": "middle",
      "data-kind": "router-ip",
      "data-name": r.name,
      "data-ip": ip,
      "data-address": ip,
    });
    clickable(t, ip, h);
  });
  const serves = r.segments.length > 0 ? [`gateway of ${r.segments.join(", ")}`] : [];
  svgTitle(
    g,
    [`router ${r.name}`, ...r.addresses, ...serves, ...(r.note !== undefined ? [r.note] : [])].join("\n"),
  );
}

function drawEdges(parent: Element, laid: ElkNode): void {
  // "order:" edges only keep the Services below the segments; they are not wires.
  for (const e of ((laid.edges ?? []) as ElkExtendedEdge[]).filter((x) => x.id.startsWith("edge:")))
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${p.x},${p.y}`).join(" ");
      svgEl("polyline", { points: pts, class: "uplink" }, parent);
    }
}

/** Draws the map into `boxLayer` (boxes) and `lineLayer` (lines over them). */
export function drawMap(
  boxLayer: Element,
  lineLayer: Element,
  map: ClusterMap,
  laid: ElkNode,
  boxes: ReadonlyMap<string, Box>,
  h: MapHandlers,
  focus: string | undefined,
): MapDrawing {
  const drift = driftIndex(map);
  const podBoxes = new Map<string, Box>();
  drawEdges(boxLayer, laid);
  for (const r of map.routers) drawRouter(boxLayer, r, boxes, h);
  const segments = [
    ...map.segments.map((s) => ({ id: ids.segment(s.cidr), label: `segment ${s.cidr}` })),
    { id: ids.unplaced, label: "segment unknown" },
  ];
  for (const s of segments) {
    const b = boxes.get(s.id);
    if (b === undefined) continue;
    svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 12, class: "segment" }, boxLayer);
    svgText(boxLayer, b.x + 12, b.y + 21, s.label, "group-title");
  }
  for (const n of map.nodes) drawNode(boxLayer, n, boxes, drift, h, podBoxes);
  const hostGroup = boxes.get(ids.hosts);
  if (hostGroup !== undefined) {
    svgEl(
      "rect",
      {
        x: hostGroup.x,
        y: hostGroup.y,
        width: hostGroup.width,
        height: hostGroup.height,
        rx: 10,
        class: "group",
      },
      boxLayer,
    );
    svgText(boxLayer, hostGroup.x + 12, hostGroup.y + 20, "outside the cluster", "group-title");
  }
  for (const host of map.hosts) {
    const b = boxes.get(ids.host(host.ip));
    if (b === undefined) continue;
    const g = svgEl("g", { class: "host" }, boxLayer);
    tagged(g, "host", host.name, host.ip);
    svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 6 }, g);
    svgText(g, b.x + 8, b.y + 16, shorten(host.name, 24), "host-name");
    svgText(g, b.x + 8, b.y + 30, host.ip, "addr", { "data-address": host.ip });
    svgText(g, b.x + 8, b.y + 43, shorten(host.note, 28), "muted small");
    svgTitle(g, `${host.name} ${host.ip}\n${host.note}`);
    clickable(g, host.ip, h);
  }
  drawServices(boxLayer, lineLayer, map, boxes, podBoxes, drift, h);
  drawLinks(lineLayer, map, boxes, focus);
  return { boxes, podBox: (ip) => podBoxes.get(ip) };
}

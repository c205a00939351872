/// <reference lib="dom" />
/**
 * The trace on the map: numbered hop markers on the pods, nodes and hosts the packet passes
 * (forward above, reply below), lines joining them in order, the rewrites written where they
 * happen, each marker coloured by predicted-vs-observed status, the first disagreement ringed,
 * the endpoint that answered outlined; and the verdict with the hop list in the side panel.
 */
import type { ClusterMap } from "../map-types.ts";
import { type Box, ids } from "./layout-graph.ts";
import type { MapDrawing } from "./map-view.ts";
import { clear, htmlEl, shorten, svgEl, svgText, svgTitle } from "./svg-dom.ts";
import type { TraceStep, TraceSummary } from "./trace-steps.ts";

const STATUS_TEXT: Record<TraceStep["status"], string> = {
  observed: "seen as predicted",
  differs: "seen, but not as predicted",
  missing: "predicted, not seen",
  unobservable: "cannot be observed here",
  "not-reached": "not reached",
  predicted: "predicted (no probe)",
};

function anchorBox(step: TraceStep, map: ClusterMap, drawing: MapDrawing): Box | undefined {
  if (step.pod !== undefined) {
    const [ns, name] = step.pod.split("/");
    for (const n of map.nodes)
      for (const b of n.blocks)
        for (const p of b.pods) if (p.namespace === ns && p.name === name) return drawing.podBox(p.ip);
  }
  if (step.node !== undefined) return drawing.boxes.get(ids.node(step.node));
  if (step.outside !== undefined) {
    const pod = drawing.podBox(step.outside);
    if (pod !== undefined) return pod;
    return drawing.boxes.get(ids.host(step.outside));
  }
  return undefined;
}

/** Width of a character of the rewrite labels (10.5px bold monospace-ish), and their line height. */
const CHAR_W = 6.2;
const LINE_H = 13;

/**
 * A rewrite written where it happens: over its hop's own box (`box`, the node's or pod's), above a
 * forward marker, below a reply one. It ends at the marker when it fits, but never leaves the box
 * sideways — onto the neighbouring node — and one too wide for the box is split before its "→".
 * The text element holds the whole rewrite (its lines are tspans), as the tests and a reader copy it.
 */
function drawRewrite(g: Element, text: string, x: number, y: number, box: Box, direction: string): void {
  const cut = text.indexOf(" → ");
  const wide = text.length * CHAR_W + 8 > box.width - 4;
  const lines = wide && cut > 0 ? [text.slice(0, cut + 1), text.slice(cut + 1)] : [text];
  const width = Math.max(...lines.map((l) => l.length)) * CHAR_W + 8;
  const height = lines.length * LINE_H + 2;
  const left = Math.max(box.x + 2, Math.min(x + 12 - width, box.x + box.width - 2 - width));
  const top = direction === "forward" ? y - 16 - height + 4 : y + 13;
  svgEl("rect", { x: left, y: top, width, height, rx: 3, class: "rewrite-bg" }, g);
  const t = svgText(g, left + 4, top + 11, "", "rewrite");
  lines.forEach((line, i) => {
    const span = svgEl("tspan", { x: left + 4, y: top + 11 + i * LINE_H }, t);
    span.textContent = line;
  });
}

/** Draws the trace over the map into `layer`. */
export function drawTrace(layer: Element, t: TraceSummary, map: ClusterMap, drawing: MapDrawing): void {
  const used = new Map<string, number>();
  const points: { step: TraceStep; x: number; y: number; box: Box }[] = [];
  for (const step of t.steps) {
    const b = anchorBox(step, map, drawing);
    if (b === undefined) continue;
    // Small boxes (pods, hosts) hold both directions in one row; nodes have forward on top, reply below.
    const small = b.height < 60;
    const key = small ? `${b.x},${b.y}` : `${b.x},${b.y}:${step.direction}`;
    const k = used.get(key) ?? 0;
    used.set(key, k + 1);
    const perRow = Math.max(1, Math.floor((b.width - 12) / 24));
    const x = b.x + b.width - 14 - (k % perRow) * 24;
    const row = Math.floor(k / perRow);
    const y = small
      ? b.y + b.height / 2 - row * 24
      : step.direction === "forward"
        ? b.y + 12 + row * 24
        : b.y + b.height - 12 - row * 24;
    points.push({ step, x, y, box: b });
  }
  for (const direction of ["forward", "reply"] as const) {
    const pts = points.filter((p) => p.step.direction === direction);
    if (pts.length > 1)
      svgEl(
        "polyline",
        {
          points: pts.map((p) => `${p.x},${p.y}`).join(" "),
          class: `trace-line ${direction}`,
          "marker-end": `url(#arrow-${direction})`,
        },
        layer,
      );
  }
  if (t.endpoint !== undefined) {
    const b = drawing.podBox(t.endpoint.ip);
    if (b !== undefined) {
      const g = svgEl("g", { class: "trace-endpoint", "data-trace-endpoint": t.endpoint.ip }, layer);
      svgEl("rect", { x: b.x - 4, y: b.y - 4, width: b.width + 8, height: b.height + 8, rx: 7 }, g);
      const label = t.endpoint.observed
        ? `answered: ${t.endpoint.ip}`
        : `predicted endpoint: ${t.endpoint.ip}`;
      svgEl(
        "rect",
        {
          x: b.x - 4,
          y: b.y + b.height + 5,
          width: label.length * 6.8 + 8,
          height: 16,
          rx: 3,
          class: "trace-endpoint-bg",
        },
        g,
      );
      svgText(g, b.x, b.y + b.height + 17, label, "trace-endpoint-text");
    }
  }
  const labelled = new Set<string>();
  for (const { step, x, y, box } of points) {
    const g = svgEl(
      "g",
      {
        class: `hop ${step.direction} ${step.status}${step.first ? " first" : ""}`,
        "data-hop": step.n,
        "data-direction": step.direction,
        "data-status": step.status,
      },
      layer,
    );
    if (step.node !== undefined) g.setAttribute("data-trace-node", step.node);
    if (step.rewrite !== undefined) g.setAttribute("data-rewrite", step.rewrite);
    if (step.first) {
      g.setAttribute("data-first", "true");
      if (step.firstReason !== undefined) g.setAttribute("data-reason", step.firstReason);
      svgEl("circle", { cx: x, cy: y, r: 16, class: "first-ring" }, g);
      svgText(g, x + 18, y - 14, "first disagreement", "first-text");
    }
    svgEl("circle", { cx: x, cy: y, r: 10 }, g);
    svgText(g, x, y + 4, String(step.n), "hop-number", { "text-anchor": "middle" });
    if (step.rewrite !== undefined) {
      const key = `${x},${y}`;
      if (!labelled.has(key)) {
        labelled.add(key);
        drawRewrite(g, shorten(step.rewrite, 60), x, y, box, step.direction);
      }
    }
    svgTitle(
      g,
      [
        `${step.n}. ${step.direction} ${step.point} at ${step.where}`,
        step.description,
        step.packet,
        step.rewrite ?? "",
        STATUS_TEXT[step.status],
        step.note ?? "",
        step.drop ?? "",
      ]
        .filter((s) => s !== "")
        .join("\n"),
    );
  }
}

/** Writes the verdict (#trace-verdict) and the hop list (#trace-hops). */
export function renderTraceResult(verdict: HTMLElement, hops: HTMLElement, t: TraceSummary): void {
  clear(verdict);
  clear(hops);
  verdict.setAttribute("data-status", t.status);
  htmlEl("div", { class: `verdict ${t.status}` }, verdict, t.status);
  for (const line of t.lines) htmlEl("div", { class: "line" }, verdict, line);
  for (const s of t.steps) {
    const li = htmlEl(
      "li",
      { class: `hop-row ${s.status}${s.first ? " first" : ""}`, "data-hop": s.n },
      hops,
    );
    if (s.first) {
      li.setAttribute("data-first", "true");
      if (s.firstReason !== undefined) li.setAttribute("data-reason", s.firstReason);
    }
    htmlEl("span", { class: "hop-n" }, li, String(s.n));
    htmlEl(
      "span",
      { class: "hop-where" },
      li,
      `${s.direction === "reply" ? "↩ " : ""}${s.point} · ${s.where}`,
    );
    htmlEl("div", { class: "hop-desc" }, li, s.description);
    htmlEl("div", { class: "hop-packet" }, li, s.packet);
    if (s.rewrite !== undefined) htmlEl("div", { class: "hop-rewrite" }, li, s.rewrite);
    htmlEl(
      "div",
      { class: "hop-status" },
      li,
      `${STATUS_TEXT[s.status]}${s.note === undefined ? "" : ` — ${s.note}`}`,
    );
    if (s.drop !== undefined) htmlEl("div", { class: "line warn" }, li, s.drop);
    if (s.first) htmlEl("div", { class: "line warn" }, li, "first disagreement");
  }
}

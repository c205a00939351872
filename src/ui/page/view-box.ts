/// <reference lib="dom" />
/**
 * Zoom and pan by moving the SVG's viewBox: the wheel zooms around the pointer, dragging pans,
 * `fit` shows the whole map and `focus` centres one box (a search hit, a trace) at a readable scale.
 */
import type { Box } from "./layout-graph.ts";

export interface ViewBox {
  fit(width: number, height: number): void;
  focus(box: Box): void;
  /** The current view in map coordinates. */
  readonly current: () => Box;
  /** Whether the user zoomed, panned or focused since the last fit (then a new map keeps the view). */
  readonly moved: () => boolean;
}

export function attachViewBox(svg: SVGSVGElement): ViewBox {
  let vb: Box = { x: 0, y: 0, width: 1000, height: 700 };
  let moved = false;
  const apply = () => svg.setAttribute("viewBox", `${vb.x} ${vb.y} ${vb.width} ${vb.height}`);
  /** Screen pixels to map units (the SVG keeps its aspect ratio: the larger scale wins). */
  const scale = () => {
    const r = svg.getBoundingClientRect();
    return Math.max(vb.width / Math.max(r.width, 1), vb.height / Math.max(r.height, 1));
  };
  const toMap = (clientX: number, clientY: number) => {
    const r = svg.getBoundingClientRect();
    const s = scale();
    // preserveAspectRatio xMidYMid meet: the view is centred in the element.
    const ox = (r.width * s - vb.width) / 2;
    const oy = (r.height * s - vb.height) / 2;
    return { x: vb.x - ox + (clientX - r.left) * s, y: vb.y - oy + (clientY - r.top) * s };
  };
  svg.addEventListener(
    "wheel",
    (ev) => {
      ev.preventDefault();
      const f = Math.exp(Math.sign(ev.deltaY) * Math.min(Math.abs(ev.deltaY), 100) * 0.002);
      const p = toMap(ev.clientX, ev.clientY);
      const width = Math.min(Math.max(vb.width * f, 80), 200000);
      const k = width / vb.width;
      vb = { x: p.x - (p.x - vb.x) * k, y: p.y - (p.y - vb.y) * k, width, height: vb.height * k };
      moved = true;
      apply();
    },
    { passive: false },
  );
  // A drag is not a click on whatever it ended over.
  let suppressClickUntil = 0;
  svg.addEventListener(
    "click",
    (e) => {
      if (performance.now() < suppressClickUntil) e.stopPropagation();
    },
    { capture: true },
  );
  let drag: { x: number; y: number; vb: Box; moved: boolean } | undefined;
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, vb, moved: false };
  });
  svg.addEventListener("pointermove", (ev) => {
    if (drag === undefined) return;
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    if (!drag.moved) svg.setPointerCapture(ev.pointerId);
    drag.moved = true;
    moved = true;
    svg.classList.add("dragging");
    const s = scale();
    vb = { ...drag.vb, x: drag.vb.x - dx * s, y: drag.vb.y - dy * s };
    apply();
  });
  const end = (ev: PointerEvent) => {
    if (drag?.moved === true) {
      suppressClickUntil = performance.now() + 100;
      if (svg.hasPointerCapture(ev.pointerId)) svg.releasePointerCapture(ev.pointerId);
    }
    drag = undefined;
    svg.classList.remove("dragging");
  };
  svg.addEventListener("pointerup", end);
  svg.addEventListener("pointercancel", end);
  return {
    fit(width, height) {
      vb = { x: 0, y: 0, width: Math.max(width, 200), height: Math.max(height, 150) };
      moved = false;
      apply();
    },
    focus(box) {
      const width = Math.max(box.width * 3, 700);
      const r = svg.getBoundingClientRect();
      const height = (width * Math.max(r.height, 1)) / Math.max(r.width, 1);
      vb = { x: box.x + box.width / 2 - width / 2, y: box.y + box.height / 2 - height / 2, width, height };
      moved = true;
      apply();
    },
    current: () => vb,
    moved: () => moved,
  };
}

/// <reference lib="dom" />
/**
 * What every drawn element shares: the handlers the page gives the drawing, the test/search hooks
 * (data-kind, data-name, data-ip) and the drift index that lets each element show its own drift.
 */
import type { ClusterMap } from "../map-types.ts";
import type { Box } from "./layout-graph.ts";

export interface MapHandlers {
  readonly onAddress: (ip: string) => void;
  readonly onToggleBlock: (blockId: string, collapsed: boolean) => void;
  readonly onFocusNode: (node: string) => void;
}

export interface MapDrawing {
  readonly boxes: ReadonlyMap<string, Box>;
  /** The box a pod is drawn in: its own, or its collapsed block's summary. */
  readonly podBox: (ip: string) => Box | undefined;
}

/** Drift by what it concerns, so each element can show its own. */
export function driftIndex(map: ClusterMap) {
  const byNode = new Map<string, string[]>();
  const bySubject = new Map<string, string[]>();
  for (const d of map.drift) {
    byNode.set(d.node, [...(byNode.get(d.node) ?? []), d.problem]);
    bySubject.set(d.subject, [...(bySubject.get(d.subject) ?? []), `${d.node} ${d.problem}`]);
  }
  const about = (...keys: string[]) => keys.flatMap((k) => bySubject.get(k) ?? []);
  return { byNode, about };
}

export type Drift = ReturnType<typeof driftIndex>;

export function clickable(e: SVGElement, ip: string, h: MapHandlers): void {
  e.classList.add("clickable");
  e.addEventListener("click", (ev) => {
    ev.stopPropagation();
    h.onAddress(ip);
  });
}

export function tagged(g: SVGElement, kind: string, name: string, ip: string | undefined): void {
  g.setAttribute("data-kind", kind);
  g.setAttribute("data-name", name);
  if (ip !== undefined) g.setAttribute("data-ip", ip);
}

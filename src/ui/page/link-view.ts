/// <reference lib="dom" />
/** The lines between nodes: one per pair, labelled direct or VXLAN, drift in the warning style. */
import type { ClusterMap, MapLink } from "../map-types.ts";
import { type Box, ids } from "./layout-graph.ts";
import { svgEl, svgText, svgTitle } from "./svg-dom.ts";

/** One line per pair of nodes; both directions' routes in its tooltip. */
export function drawLinks(
  parent: Element,
  map: ClusterMap,
  boxes: ReadonlyMap<string, Box>,
  focus: string | undefined,
): void {
  const pairs = new Map<string, MapLink[]>();
  for (const l of map.links) {
    const key = [l.from, l.to].sort().join("\u0000");
    pairs.set(key, [...(pairs.get(key) ?? []), l]);
  }
  // Beyond a dozen nodes every pair is too many lines: draw the focused node's and the broken ones.
  const all = map.nodes.length <= 12;
  for (const links of pairs.values()) {
    const first = links[0];
    if (first === undefined) continue;
    const ok = links.every((l) => l.ok);
    if (!all && ok && focus !== first.from && focus !== first.to) continue;
    const a = boxes.get(ids.node(first.from));
    const b = boxes.get(ids.node(first.to));
    if (a === undefined || b === undefined) continue;
    const kinds = [...new Set(links.map((l) => (l.kind === "vxlan" ? "VXLAN" : "direct")))];
    const g = svgEl(
      "g",
      {
        class: `link ${kinds.includes("VXLAN") ? "vxlan" : "direct"}${ok ? "" : " warn"}`,
        "data-kind": "link",
        "data-name": `${first.from}-${first.to}`,
      },
      parent,
    );
    const ax = a.x + a.width / 2;
    const ay = a.y + 10;
    const bx = b.x + b.width / 2;
    const by = b.y + 10;
    const mx = (ax + bx) / 2;
    const my = Math.min(ay, by) - 40 - Math.abs(ax - bx) / 12;
    svgEl("path", { d: `M${ax},${ay} Q${mx},${my} ${bx},${by}` }, g);
    const label = `${kinds.join(" / ")}${ok ? "" : " ⚠ drift"}`;
    const lx = (ax + 2 * mx + bx) / 4;
    const ly = (ay + 2 * my + by) / 4;
    svgEl(
      "rect",
      {
        x: lx - label.length * 3.4 - 4,
        y: ly - 9,
        width: label.length * 6.8 + 8,
        height: 14,
        rx: 3,
        class: "link-label-bg",
      },
      g,
    );
    svgText(g, lx, ly + 2, label, "link-label", { "text-anchor": "middle" });
    svgTitle(
      g,
      links
        .map(
          (l) =>
            `${l.from} → ${l.to} (${l.block}): ${l.route}${l.ok ? "" : "  ⚠ not what the datastore says"}`,
        )
        .join("\n"),
    );
  }
}

/// <reference lib="dom" />
/** The Services box: each Service with its ClusterIPs, ports and NodePorts, and dashed lines to its endpoints. */
import type { ClusterMap } from "../map-types.ts";
import { type Box, ids } from "./layout-graph.ts";
import { clickable, type Drift, type MapHandlers, tagged } from "./map-hooks.ts";
import { shorten, svgEl, svgText, svgTitle } from "./svg-dom.ts";

export function drawServices(
  parent: Element,
  lines: Element,
  map: ClusterMap,
  boxes: ReadonlyMap<string, Box>,
  podBoxes: ReadonlyMap<string, Box>,
  drift: Drift,
  h: MapHandlers,
): void {
  const group = boxes.get(ids.services);
  if (group !== undefined) {
    svgEl(
      "rect",
      { x: group.x, y: group.y, width: group.width, height: group.height, rx: 10, class: "group" },
      parent,
    );
    const cidrs = map.serviceCidrs.length > 0 ? ` (${map.serviceCidrs.join(", ")})` : "";
    svgText(parent, group.x + 12, group.y + 20, `Services${cidrs}`, "group-title");
  }
  for (const svc of map.services) {
    const b = boxes.get(ids.service(svc));
    if (b === undefined) continue;
    const problems = drift.about(...svc.clusterIPs, `${svc.namespace}/${svc.name}`);
    const g = svgEl(
      "g",
      { class: problems.length > 0 || svc.endpoints.length === 0 ? "service warn" : "service" },
      parent,
    );
    tagged(g, "service", svc.name, svc.clusterIPs[0]);
    g.setAttribute("data-namespace", svc.namespace);
    svgEl("rect", { x: b.x, y: b.y, width: b.width, height: b.height, rx: 6 }, g);
    svgText(g, b.x + 8, b.y + 16, shorten(`${svc.namespace}/${svc.name}`, 28), "service-name");
    svgText(
      g,
      b.x + 8,
      b.y + 29,
      svc.endpoints.length === 0 ? "no endpoints" : `${svc.endpoints.length} endpoint(s)`,
      svc.endpoints.length === 0 ? "warn-text" : "muted",
    );
    let y = b.y + 34 + 11;
    for (const ip of svc.clusterIPs) {
      const t = svgText(g, b.x + 8, y, `ClusterIP ${ip}`, "addr", {
        "data-kind": "cluster-ip",
        "data-name": svc.name,
        "data-ip": ip,
        "data-address": ip,
      });
      clickable(t, ip, h);
      y += 14;
    }
    if (svc.headless === true) {
      svgText(g, b.x + 8, y, "headless: no ClusterIP", "muted", { "data-kind": "headless" });
      y += 14;
    }
    for (const p of svc.ports) {
      svgText(
        g,
        b.x + 8,
        y,
        `${p.protocol.toLowerCase()} ${p.port} → ${p.targetPort}${p.nodePort === undefined ? "" : `  NodePort ${p.nodePort}`}`,
        "port",
      );
      y += 14;
    }
    svgTitle(
      g,
      [
        `${svc.namespace}/${svc.name}`,
        ...svc.endpoints.map((e) => `→ ${e.ip} ${e.pod} on ${e.node}`),
        ...problems,
      ].join("\n"),
    );
    for (const e of svc.endpoints) {
      const pb = podBoxes.get(e.ip);
      if (pb === undefined) continue;
      const sx = b.x + b.width / 2;
      const ex = pb.x + pb.width / 2;
      const ey = pb.y + pb.height;
      svgEl(
        "path",
        {
          d: `M${sx},${b.y} C${sx},${b.y - 60} ${ex},${ey + 60} ${ex},${ey}`,
          class: "endpoint-line",
          "data-service": svc.name,
          "data-endpoint": e.ip,
        },
        lines,
      );
    }
  }
}

/** `podnet lab status`: one row per pod, read from the kernel. */

import type { LabState } from "./lab-state.ts";
import { inspectPodInterface } from "./pod-inspect.ts";

export interface StatusRow {
  readonly node: string;
  readonly pod: string;
  readonly ip: string;
  readonly mac: string;
  readonly iface: string;
  readonly netns: string;
}

export function labStatusRows(state: LabState): StatusRow[] {
  return state.pods.map((p) => {
    const itf = inspectPodInterface(p.netns, p.ifname);
    return {
      node: p.node,
      pod: p.name,
      ip: itf ? [...itf.ipv4, ...itf.ipv6].join(",") || "-" : "(missing)",
      mac: itf?.mac ?? "-",
      iface: p.ifname,
      netns: p.netns,
    };
  });
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function formatStatus(state: LabState): string {
  const nodes = state.nodes.map((n) => [
    n.name,
    n.address,
    n.segment,
    n.podCidrs.join(","),
    state.backend,
    n.netns,
  ]);
  const rows = labStatusRows(state).map((r) => [r.node, r.pod, r.ip, r.mac, r.iface, r.netns]);
  return [
    renderTable(["NODE", "NODE IP", "SEGMENT", "POD BLOCK", "BACKEND", "NETNS"], nodes),
    "",
    renderTable(["NODE", "POD", "IP", "MAC", "INTERFACE", "NETNS"], rows),
  ].join("\n");
}

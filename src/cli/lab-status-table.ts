/** `podnet lab status` as text: a node table and a pod table, read from the kernel. */
import type { LabState } from "../lab/lab-state.ts";
import { labStatusRows } from "../lab/lab-status.ts";
import { renderTable } from "./table.ts";

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

/** `podnet lab status` as text: a node table and a pod table, read from the kernel. */
import type { ListedService } from "../lab/lab-services.ts";
import type { LabState } from "../lab/lab-state.ts";
import { nodeAddresses } from "../lab/lab-state.ts";
import { labRouterSessions, labStatusRows, type RouterSessionRow } from "../lab/lab-status.ts";
import { renderTable } from "./table.ts";

export function formatStatus(state: LabState): string {
  const nodes = state.nodes.map((n) => [
    n.name,
    nodeAddresses(n).join(","),
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

/** The endpoint pods, each once (a dual-stack pod is an endpoint in both families). */
function endpointsCell(endpoints: ListedService["endpoints"]): string {
  if (endpoints.length === 0) return "none";
  const pods = [...new Set(endpoints.map((e) => e.pod.split("/")[1]))];
  return `${pods.length} (${pods.join(",")})`;
}

/** The Services table: ClusterIP, ports (port/protocol → target, NodePort) and endpoints. */
/** `external`: the external host's addresses (with or without prefix length), primary first. */
export function formatServices(services: readonly ListedService[], external: readonly string[]): string {
  const rows = services.map((s) => [
    `${s.namespace}/${s.name}`,
    s.clusterIPs.length === 0 ? "None" : s.clusterIPs.join(","), // headless, as kubectl shows it
    s.ports
      .map((p) => `${p.port}/${p.protocol}→${p.targetPort}${p.nodePort ? ` (NodePort ${p.nodePort})` : ""}`)
      .join(", "),
    endpointsCell(s.endpoints),
  ]);
  return [
    renderTable(["SERVICE", "CLUSTER-IP", "PORTS", "ENDPOINTS"], rows),
    "",
    `external host (outside the cluster, runs the echo server on TCP and UDP, and dnsmasq serving example.test): ${external.map((a) => a.split("/")[0]).join(", ")}`,
  ].join("\n");
}

/** The router's BGP sessions as a table (the rows of routerSessionRows). */
export function formatRouterSessionRows(rows: readonly RouterSessionRow[]): string {
  return [
    "router BGP sessions (BIRD in the router namespace; ROUTES: received/sent per family):",
    renderTable(
      ["NODE", "NEIGHBOR", "PROTOCOL", "STATE", "SINCE", "ROUTES"],
      rows.map((r) => [r.node, r.neighbor, r.protocol, r.state, r.since, r.routes]),
    ),
  ].join("\n");
}

/** The router's sessions read from its BIRD now; a BIRD that does not answer is said so, not thrown. */
export async function formatRouterSessions(state: LabState): Promise<string> {
  try {
    return formatRouterSessionRows(await labRouterSessions(state));
  } catch (e) {
    return `router BGP sessions: cannot ask the router's BIRD: ${(e as Error).message}`;
  }
}

/** The bgp lab's extras after the node and pod tables: the VM's addresses, the router's sessions. */
export async function formatBgpExtras(state: LabState): Promise<string> {
  const vm = state.vpcHost;
  const lines = vm
    ? [
        `VM "${vm.name}" (in the VPC on ${vm.segment}, outside the cluster; runs the echo server): ${vm.addresses.map((a) => a.split("/")[0]).join(", ")}`,
      ]
    : [];
  if (state.router) lines.push(await formatRouterSessions(state));
  return lines.join("\n\n");
}

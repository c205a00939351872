/**
 * What one Service contributes to the table's shared sets and maps (pure): its ClusterIP for the
 * reject check, its verdict-map elements, its endpoint-map elements, NodePorts without endpoints,
 * and the hairpin pairs of its endpoints.
 */
import type { SharedElements } from "./nft-model.ts";
import { NAMES, nodePortEndpointsMap, serviceEndpointsMap } from "./nft-names.ts";
import type { FamilyService, MapEntry, PortOutput } from "./service-rules.ts";

export function sharedElementsOf(resolved: FamilyService, outputs: readonly PortOutput[]): SharedElements {
  const serviceIps: MapEntry[] = [];
  const nodePorts: MapEntry[] = [];
  const maps = new Map<string, MapEntry[]>();
  const add = (name: string, entries: readonly MapEntry[]) => {
    if (entries.length === 0) return;
    const list = maps.get(name);
    if (list) list.push(...entries);
    else maps.set(name, [...entries]);
  };
  const noEndpointNodePorts: string[] = [];
  for (const out of outputs) {
    if (out.serviceIp) serviceIps.push(out.serviceIp);
    if (out.nodePort) nodePorts.push(out.nodePort);
    if (out.noEndpointNodePort !== undefined) noEndpointNodePorts.push(out.noEndpointNodePort);
    const proto = out.protocol.toLowerCase() as "tcp" | "udp" | "sctp";
    add(serviceEndpointsMap(proto), out.endpoints);
    add(nodePortEndpointsMap(proto), out.nodePortEndpoints);
  }
  const sets = new Map<string, readonly string[]>([[NAMES.clusterIPs, [resolved.clusterIP]]]);
  if (noEndpointNodePorts.length > 0) sets.set(NAMES.noEndpointNodeports, noEndpointNodePorts);
  // Only endpoints reachable through a ClusterIP port can be DNATed back to themselves, and
  // only pods of this node send through this node's table (a pod on another node hairpins there).
  if (serviceIps.length > 0 && resolved.localEndpointIPs.length > 0)
    sets.set(
      NAMES.hairpin,
      resolved.localEndpointIPs.map((ip) => `${ip} . ${ip}`),
    );
  add(NAMES.serviceIps, serviceIps);
  add(NAMES.serviceNodeports, nodePorts);
  return { sets, maps };
}

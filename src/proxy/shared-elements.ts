/**
 * What one Service contributes to the table's shared sets and maps (pure): its ClusterIP for the
 * reject check, its verdict-map elements, its endpoint-map elements, NodePorts without endpoints,
 * and the hairpin pairs of its endpoints.
 */
import type { SharedElements } from "./nft-model.ts";
import { NAMES } from "./nft-names.ts";
import type { FamilyService, MapEntry, PortOutput } from "./service-rules.ts";

export function sharedElementsOf(resolved: FamilyService, outputs: readonly PortOutput[]): SharedElements {
  const serviceIps: MapEntry[] = [];
  const nodePorts: MapEntry[] = [];
  const endpoints: MapEntry[] = [];
  const nodePortEndpoints: MapEntry[] = [];
  const noEndpointNodePorts: string[] = [];
  for (const out of outputs) {
    if (out.serviceIp) serviceIps.push(out.serviceIp);
    if (out.nodePort) nodePorts.push(out.nodePort);
    if (out.noEndpointNodePort !== undefined) noEndpointNodePorts.push(out.noEndpointNodePort);
    endpoints.push(...out.endpoints);
    nodePortEndpoints.push(...out.nodePortEndpoints);
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
  const maps = new Map<string, readonly MapEntry[]>();
  for (const [name, entries] of [
    [NAMES.serviceIps, serviceIps],
    [NAMES.serviceNodeports, nodePorts],
    [NAMES.serviceEndpoints, endpoints],
    [NAMES.nodeportEndpoints, nodePortEndpoints],
  ] as const)
    if (entries.length > 0) maps.set(name, entries);
  return { sets, maps };
}

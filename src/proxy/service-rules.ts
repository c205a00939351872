/**
 * The chains, map elements and affinity sets of one service port (pure). A verdict-map element
 * sends (ClusterIP . protocol . port) straight to the shared DNAT chain for its endpoint count,
 * whose one rule picks the endpoint with `numgen random mod N` as the last part of a key into the
 * shared `service-endpoints` map (ClusterIP . proto . port . index → endpoint address . port). So
 * every step on the packet path is a map lookup or a shared rule — a packet's cost does not grow
 * with the number of services — and a Service without affinity costs no chain and no rule at all,
 * only map elements.
 *
 * Why no chain per Service: nft 1.0.6 dumps every chain of the table into its cache before any
 * transaction that adds or deletes something, so one chain per Service port made every two-line
 * partial sync at 10,000 Services cost 58–95 ms instead of 18–28 ms (measured over several runs, issue 14).
 *
 * Why the DNAT rule lives in shared chains, not in each service chain: every rule that refers to
 * a named data map makes the kernel walk all of that map's elements once per chain it is bound
 * from (nf_tables_bind_set), so 10,000 service chains each looking up the map cost 10,000 walks of
 * 100,000 elements (50 s measured); one chain per distinct endpoint count binds it a few times.
 *
 * ClientIP affinity needs to remember which endpoint a client got, which a map lookup cannot, so
 * those Services keep a service chain, a chain per endpoint that updates a per-endpoint set of
 * client addresses, and an `ext-` chain for their NodePort (these chains bring the cache cost back).
 */
import type { Protocol } from "../k8s/service-model.ts";
import type { NftChain, NftSet } from "./nft-model.ts";
import {
  affinitySetName,
  endpointChainName,
  endpointsChainName,
  externalChainName,
  nodePortEndpointsChainName,
  type ServicePortId,
  serviceChainName,
} from "./nft-names.ts";

/** The packet mark bit that asks nat-postrouting to masquerade (the bit kube-proxy uses too). */
const MASQUERADE_MARK = 0x4000;
export const MARK_TEXT = `0x${MASQUERADE_MARK.toString(16).padStart(8, "0")}`;
export const SET_MARK = `meta mark set meta mark | ${MARK_TEXT}`;

/** A Service reduced to what one address family's table needs; endpoints validated and sorted. */
export interface FamilyService {
  readonly key: string;
  readonly clusterIP: string;
  /** Affinity timeout in seconds, or undefined for no affinity. */
  readonly affinitySeconds: number | undefined;
  readonly endpointIPs: readonly string[];
  /** The endpoints on this node: the only pods that can reach themselves through this node's table. */
  readonly localEndpointIPs: readonly string[];
}

/** A port that passed validation and conflict checks. */
export interface ClaimedPort {
  readonly protocol: Protocol;
  readonly port: number;
  readonly targetPort: number;
  /** Only when this Service got the NodePort (it was not taken by another). */
  readonly nodePort?: number;
}

export type MapEntry = readonly [key: string, value: string];

/** Everything one service port contributes to the table. */
export interface PortOutput {
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
  /** `ClusterIP . proto . port` → verdict, for `service-ips`; absent without endpoints. */
  readonly serviceIp?: MapEntry;
  /** `proto . nodePort` → verdict, for `service-nodeports`. */
  readonly nodePort?: MapEntry;
  /** `proto . nodePort` of a NodePort without endpoints, for `no-endpoint-nodeports`. */
  readonly noEndpointNodePort?: string;
  readonly protocol: Protocol;
  /** `ClusterIP . port . index` → `endpoint . targetPort`, for `service-endpoints-PROTO`. */
  readonly endpoints: readonly MapEntry[];
  /** `nodePort . index` → `endpoint . targetPort`, for `nodeport-endpoints-PROTO`. */
  readonly nodePortEndpoints: readonly MapEntry[];
  /** Endpoint counts whose shared DNAT chains this port jumps to (ClusterIP, NodePort). */
  readonly endpointsChain?: number;
  readonly nodePortEndpointsChain?: number;
}

export function serviceIpKey(clusterIP: string, protocol: Protocol, port: number): string {
  return `${clusterIP} . ${protocol.toLowerCase()} . ${port}`;
}

export function nodePortKey(protocol: Protocol, nodePort: number): string {
  return `${protocol.toLowerCase()} . ${nodePort}`;
}

/**
 * Uniform choice among the endpoint chains of an affinity Service without a set: rule i fires
 * with probability 1/(n-i), so every endpoint gets 1/n. (A per-service anonymous vmap would read
 * better, but resolving anonymous set names walks every set of the table: quadratic load time.)
 */
function pickEndpoint(endpointChains: readonly string[]): string[] {
  const n = endpointChains.length;
  return endpointChains.map((chain, i) =>
    i === n - 1 ? `goto ${chain}` : `numgen random mod ${n - i} == 0 goto ${chain}`,
  );
}

/** Chains of an affinity Service: the service chain and one chain per endpoint. */
function affinityChains(
  addr: "ip" | "ip6",
  svc: FamilyService,
  port: ClaimedPort,
  id: ServicePortId,
  seconds: number,
): { chains: NftChain[]; sets: NftSet[] } {
  const proto = port.protocol.toLowerCase();
  const svcRules: string[] = [];
  const chains: NftChain[] = [{ name: serviceChainName(id), rules: svcRules }];
  const sets: NftSet[] = [];
  const endpointChains: string[] = [];
  for (const ip of svc.endpointIPs) {
    const name = endpointChainName(id, ip, port.targetPort);
    endpointChains.push(name);
    // One dynamic set per endpoint, keyed by client address: nftables cannot update a verdict
    // map from the packet path, so "this client is pinned to that endpoint" is set membership.
    const set = affinitySetName(id, ip, port.targetPort, seconds);
    sets.push({
      kind: "set",
      name: set,
      type: addr === "ip" ? "ipv4_addr" : "ipv6_addr",
      flags: ["dynamic", "timeout"],
      timeoutSeconds: seconds,
      elements: [],
    });
    svcRules.push(`${addr} saddr @${set} goto ${name}`);
    const destination = addr === "ip6" ? `[${ip}]` : ip;
    chains.push({
      name,
      rules: [
        `update @${set} { ${addr} saddr }`,
        `meta l4proto ${proto} dnat to ${destination}:${port.targetPort}`,
      ],
    });
  }
  svcRules.push(...pickEndpoint(endpointChains));
  return { chains, sets };
}

/** Renders one claimed port of `svc` for the table of `addr` (`ip` or `ip6`). */
export function renderServicePort(addr: "ip" | "ip6", svc: FamilyService, port: ClaimedPort): PortOutput {
  const nodePort = port.nodePort === undefined ? undefined : nodePortKey(port.protocol, port.nodePort);
  const count = svc.endpointIPs.length;
  if (count === 0) {
    // No chain and no map element: the packet keeps its ClusterIP (or node IP) destination and
    // the filter chains after DNAT reject it at once instead of letting the client time out.
    const empty = { chains: [], sets: [], endpoints: [], nodePortEndpoints: [], protocol: port.protocol };
    return nodePort === undefined ? empty : { ...empty, noEndpointNodePort: nodePort };
  }
  const ipKey = serviceIpKey(svc.clusterIP, port.protocol, port.port);

  if (svc.affinitySeconds !== undefined) {
    const id: ServicePortId = { service: svc.key, protocol: port.protocol, port: port.port };
    const svcChain = serviceChainName(id);
    const serviceIp: MapEntry = [ipKey, `goto ${svcChain}`];
    const { chains, sets } = affinityChains(addr, svc, port, id, svc.affinitySeconds);
    const none = { endpoints: [], nodePortEndpoints: [], protocol: port.protocol };
    if (nodePort === undefined) return { chains, sets, serviceIp, ...none };
    // NodePort callers are always masqueraded (pods too): the endpoint may be on another node,
    // and its reply must come back here to be un-DNATed.
    const ext = externalChainName(id);
    chains.push({ name: ext, rules: [SET_MARK, `goto ${svcChain}`] });
    return {
      chains,
      sets,
      serviceIp,
      nodePort: [nodePort, `goto ${ext}`],
      ...none,
    };
  }

  // NodePort callers are always masqueraded: the shared nodeport-endpoints chain sets the mark
  // (dnat-chains.ts), so the element can go to it directly.
  const proto = port.protocol.toLowerCase() as "tcp" | "udp" | "sctp";
  const serviceIp: MapEntry = [ipKey, `goto ${endpointsChainName(proto, count)}`];
  const targets = svc.endpointIPs.map((ip) => `${ip} . ${port.targetPort}`);
  const endpoints = targets.map((t, i): MapEntry => [`${svc.clusterIP} . ${port.port} . ${i}`, t]);
  if (nodePort === undefined)
    return {
      chains: [],
      sets: [],
      serviceIp,
      protocol: port.protocol,
      endpoints,
      nodePortEndpoints: [],
      endpointsChain: count,
    };
  return {
    chains: [],
    sets: [],
    serviceIp,
    nodePort: [nodePort, `goto ${nodePortEndpointsChainName(proto, count)}`],
    endpoints,
    protocol: port.protocol,
    nodePortEndpoints: targets.map((t, i): MapEntry => [`${port.nodePort} . ${i}`, t]),
    endpointsChain: count,
    nodePortEndpointsChain: count,
  };
}

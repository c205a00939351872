/**
 * The chains, map elements and affinity sets of one service port (pure). The shape follows
 * kube-proxy's nftables mode: a verdict-map element sends (ClusterIP . protocol . port) to the
 * service chain, which picks an endpoint (affinity first, then at random) and goes to that
 * endpoint's chain, which DNATs. Every step on the packet path is a map lookup or a rule of this
 * one service, so a packet's cost does not grow with the number of services.
 */
import type { Protocol } from "../cluster/service-model.ts";
import type { NftChain, NftSet } from "./nft-model.ts";
import {
  affinitySetName,
  endpointChainName,
  externalChainName,
  type ServicePortId,
  serviceChainName,
} from "./nft-names.ts";

/** The packet mark bit that asks nat-postrouting to masquerade (the bit kube-proxy uses too). */
export const MASQUERADE_MARK = 0x4000;
export const MARK_TEXT = `0x${MASQUERADE_MARK.toString(16).padStart(8, "0")}`;
export const SET_MARK = `meta mark set meta mark | ${MARK_TEXT}`;

/** The shared set of pod CIDRs the service chains test client addresses against. */
export const POD_CIDRS_SET = "pod-cidrs";

/** A Service reduced to what one address family's table needs; endpoints validated and sorted. */
export interface FamilyService {
  readonly key: string;
  readonly clusterIP: string;
  /** Affinity timeout in seconds, or undefined for no affinity. */
  readonly affinitySeconds: number | undefined;
  readonly endpointIPs: readonly string[];
}

/** A port that passed validation and conflict checks. */
export interface ClaimedPort {
  readonly protocol: Protocol;
  readonly port: number;
  readonly targetPort: number;
  /** Only when this Service got the NodePort (it was not taken by another). */
  readonly nodePort?: number;
}

/** Everything one service port contributes to the table. */
export interface PortOutput {
  readonly chains: readonly NftChain[];
  readonly sets: readonly NftSet[];
  /** `ClusterIP . proto . port` → verdict, for `service-ips`; absent without endpoints. */
  readonly serviceIp?: readonly [string, string];
  /** `proto . nodePort` → verdict, for `service-nodeports`. */
  readonly nodePort?: readonly [string, string];
  /** `proto . nodePort` of a NodePort without endpoints, for `no-endpoint-nodeports`. */
  readonly noEndpointNodePort?: string;
}

export function serviceIpKey(clusterIP: string, protocol: Protocol, port: number): string {
  return `${clusterIP} . ${protocol.toLowerCase()} . ${port}`;
}

export function nodePortKey(protocol: Protocol, nodePort: number): string {
  return `${protocol.toLowerCase()} . ${nodePort}`;
}

/**
 * Uniform choice among the endpoint chains without a set: rule i fires with probability
 * 1/(n-i), so every endpoint gets 1/n. A per-service anonymous vmap (`numgen random mod n vmap
 * {...}`) would read better, but the kernel allocates anonymous set names and resolves set
 * references by walking every set of the table, which made loading 8,000 such vmaps take 5 s
 * against 0.2 s for the same number of plain rules (kubernetes/kubernetes#139513).
 */
function pickEndpoint(endpointChains: readonly string[]): string[] {
  const n = endpointChains.length;
  return endpointChains.map((chain, i) =>
    i === n - 1 ? `goto ${chain}` : `numgen random mod ${n - i} == 0 goto ${chain}`,
  );
}

/** Renders one claimed port of `svc` for the table of `addr` (`ip` or `ip6`). */
export function renderServicePort(addr: "ip" | "ip6", svc: FamilyService, port: ClaimedPort): PortOutput {
  const nodePort = port.nodePort === undefined ? undefined : nodePortKey(port.protocol, port.nodePort);
  if (svc.endpointIPs.length === 0) {
    // No chain and no map element: the packet keeps its ClusterIP (or node IP) destination and
    // the filter chains after DNAT reject it at once instead of letting the client time out.
    return nodePort === undefined
      ? { chains: [], sets: [] }
      : { chains: [], sets: [], noEndpointNodePort: nodePort };
  }
  const id: ServicePortId = { service: svc.key, protocol: port.protocol, port: port.port };
  const proto = port.protocol.toLowerCase();
  const chains: NftChain[] = [];
  const sets: NftSet[] = [];
  const svcChain = serviceChainName(id);
  // Clients outside the pod CIDRs (the node itself, other hosts) are masqueraded so the
  // endpoint's reply comes back through this node's conntrack entry and gets un-DNATed.
  const svcRules = [`${addr} saddr != @${POD_CIDRS_SET} ${SET_MARK}`];
  chains.push({ name: svcChain, rules: svcRules });

  let external: readonly [string, string] | undefined;
  if (nodePort !== undefined) {
    // NodePort callers are always masqueraded (pods too): the endpoint may be on another node,
    // and its reply must come back here to be un-DNATed.
    const ext = externalChainName(id);
    chains.push({ name: ext, rules: [SET_MARK, `goto ${svcChain}`] });
    external = [nodePort, `goto ${ext}`];
  }

  const endpointChains: string[] = [];
  for (const ip of svc.endpointIPs) {
    const name = endpointChainName(id, ip, port.targetPort);
    endpointChains.push(name);
    // Hairpin: a pod reaching itself through its Service would get the reply straight from its
    // own stack with the wrong source; masquerading makes the reply return through conntrack.
    const rules = [`${addr} saddr ${ip} ${SET_MARK}`];
    if (svc.affinitySeconds !== undefined) {
      // One dynamic set per endpoint, keyed by client address: nftables cannot update a verdict
      // map from the packet path, so "this client is pinned to that endpoint" is set membership.
      const set = affinitySetName(id, ip, port.targetPort, svc.affinitySeconds);
      sets.push({
        kind: "set",
        name: set,
        type: addr === "ip" ? "ipv4_addr" : "ipv6_addr",
        flags: ["dynamic", "timeout"],
        timeoutSeconds: svc.affinitySeconds,
        elements: [],
      });
      svcRules.push(`${addr} saddr @${set} goto ${name}`);
      rules.push(`update @${set} { ${addr} saddr }`);
    }
    const destination = addr === "ip6" ? `[${ip}]` : ip;
    rules.push(`meta l4proto ${proto} dnat to ${destination}:${port.targetPort}`);
    chains.push({ name, rules });
  }
  svcRules.push(...pickEndpoint(endpointChains));

  const serviceIp: readonly [string, string] = [
    serviceIpKey(svc.clusterIP, port.protocol, port.port),
    `goto ${svcChain}`,
  ];
  return external === undefined
    ? { chains, sets, serviceIp }
    : { chains, sets, serviceIp, nodePort: external };
}

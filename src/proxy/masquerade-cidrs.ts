/**
 * The default egress non-masquerade list, in the manner of ip-masq-agent: traffic from pods to
 * these destinations keeps the pod's address, everything else leaves with the node's address.
 * With BGP the "VPC" joins the list: the hosts whose routers learn the pods' blocks over BGP and
 * so can answer a pod's own address (Calico's natOutgoing exempts its IP pools the same way).
 */

/** RFC 1918 private IPv4 ranges and the IPv6 unique local range (RFC 4193). */
export const PRIVATE_RANGES: readonly string[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "fc00::/7",
];

export interface NonMasqueradeOptions {
  /** The cluster (pod) CIDRs: pod-to-pod traffic is never masqueraded. */
  readonly clusterCidrs: readonly string[];
  /** The service CIDRs. */
  readonly serviceCidrs: readonly string[];
  /**
   * Also keep private ranges unmasqueraded (ip-masq-agent's behaviour), for networks where pods
   * are routable from the rest of the private network.
   */
  readonly keepPrivateRanges?: boolean;
  /** The BGP VPC (bgpVpcCidrs): destinations that route pod blocks learned over BGP. */
  readonly vpcCidrs?: readonly string[];
  /** Further destinations that must see pod addresses. */
  readonly extra?: readonly string[];
}

/** Destinations not to masquerade; overlaps are fine, the renderer folds nested prefixes. */
export function nonMasqueradeCidrs(options: NonMasqueradeOptions): string[] {
  return [
    ...options.clusterCidrs,
    ...options.serviceCidrs,
    ...(options.vpcCidrs ?? []),
    ...(options.keepPrivateRanges ? PRIVATE_RANGES : []),
    ...(options.extra ?? []),
  ];
}

/** What of the cluster's BgpConfig (cluster/bgp-config.ts, given whole) decides the VPC. */
export interface BgpVpcSource {
  readonly peers: readonly unknown[];
  readonly vpcCidrs: readonly string[];
}

/**
 * The destinations BGP makes reachable by pod address: none when BGP is not configured or has no
 * peers (nobody outside the cluster learns a route to a pod), the config's vpcCidrs when it
 * lists any, else `nodeNetworks` — the subnets of the node IPs the caller knows (its uplink's).
 */
export function bgpVpcCidrs(config: BgpVpcSource | undefined, nodeNetworks: readonly string[]): string[] {
  if (!config || config.peers.length === 0) return [];
  return [...(config.vpcCidrs.length > 0 ? config.vpcCidrs : nodeNetworks)];
}

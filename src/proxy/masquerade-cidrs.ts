/**
 * The default egress non-masquerade list, in the manner of ip-masq-agent: traffic from pods to
 * these destinations keeps the pod's address, everything else leaves with the node's address.
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
  /** Further destinations that must see pod addresses. */
  readonly extra?: readonly string[];
}

/** Destinations not to masquerade; overlaps are fine, the renderer folds nested prefixes. */
export function nonMasqueradeCidrs(options: NonMasqueradeOptions): string[] {
  return [
    ...options.clusterCidrs,
    ...options.serviceCidrs,
    ...(options.keepPrivateRanges ? PRIVATE_RANGES : []),
    ...(options.extra ?? []),
  ];
}

/**
 * Which of podnet's tables a node needs and what each is rendered from besides the Services (pure):
 * the node's view of itself and its cluster, and its egress policy. Read at every
 * sync, so a node IP or a cluster CIDR that changes is in the next one.
 */
import { nonMasqueradeCidrs } from "./masquerade-cidrs.ts";
import type { NftFamily } from "./nft-model.ts";
import type { NodeInput } from "./ruleset.ts";

/** What the proxy needs to know about its node and cluster. */
export interface NodeView {
  readonly nodeName: string;
  /** Where NodePorts answer. */
  readonly nodeIPs: readonly string[];
  readonly clusterCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
  /**
   * The BGP VPC (masquerade-cidrs.ts bgpVpcCidrs): pods reach it with their own addresses.
   * Absent or empty when BGP is off.
   */
  readonly vpcCidrs?: readonly string[];
}

export interface EgressPolicy {
  /** Masquerade pod traffic to destinations outside the non-masquerade CIDRs (egress). */
  readonly masqueradeEgress: boolean;
  /** Keep RFC 1918 / ULA destinations unmasqueraded too (ip-masq-agent's convention). */
  readonly keepPrivateRanges: boolean;
  /** Further destinations that must see pod addresses. */
  readonly nonMasqueradeCidrs: readonly string[];
}

/** An IPv6 table as well when the cluster or a Service has IPv6 addresses. */
function families(view: NodeView, anyServiceIPv6: boolean): NftFamily[] {
  const v6 = anyServiceIPv6 || [...view.clusterCidrs, ...view.serviceCidrs].some((c) => c.includes(":"));
  return v6 ? ["ip", "ip6"] : ["ip"];
}

/**
 * The node part of every table the node needs, IPv4 first; `anyServiceIPv6`: some Service has
 * an IPv6 ClusterIP.
 */
export function tableInputs(view: NodeView, egress: EgressPolicy, anyServiceIPv6: boolean): NodeInput[] {
  const noMasquerade = nonMasqueradeCidrs({
    clusterCidrs: view.clusterCidrs,
    serviceCidrs: view.serviceCidrs,
    vpcCidrs: view.vpcCidrs ?? [],
    keepPrivateRanges: egress.keepPrivateRanges,
    extra: egress.nonMasqueradeCidrs,
  });
  return families(view, anyServiceIPv6).map((family) => ({
    family,
    nodeIPs: view.nodeIPs,
    podCidrs: view.clusterCidrs,
    nonMasqueradeCidrs: noMasquerade,
    masqueradeEgress: egress.masqueradeEgress,
    nodeName: view.nodeName,
  }));
}

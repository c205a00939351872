/**
 * Which of podnet's tables a node needs and what each is rendered from (pure): the node's view of
 * itself and its cluster, its egress policy and the Services with their endpoints. Read at every
 * sync, so a node IP or a cluster CIDR that changes is in the next one.
 */
import type { ServiceEntry } from "./endpoint-index.ts";
import { nonMasqueradeCidrs } from "./masquerade-cidrs.ts";
import type { NftFamily } from "./nft-model.ts";
import type { ProxyInput } from "./ruleset.ts";

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
function families(view: NodeView, entries: readonly ServiceEntry[]): NftFamily[] {
  const v6 =
    [...view.clusterCidrs, ...view.serviceCidrs].some((c) => c.includes(":")) ||
    entries.some((e) => e.service.clusterIPs.some((ip) => ip.includes(":")));
  return v6 ? ["ip", "ip6"] : ["ip"];
}

/** The render input of every table the node needs, IPv4 first. */
export function tableInputs(
  view: NodeView,
  egress: EgressPolicy,
  entries: readonly ServiceEntry[],
): ProxyInput[] {
  const noMasquerade = nonMasqueradeCidrs({
    clusterCidrs: view.clusterCidrs,
    serviceCidrs: view.serviceCidrs,
    vpcCidrs: view.vpcCidrs ?? [],
    keepPrivateRanges: egress.keepPrivateRanges,
    extra: egress.nonMasqueradeCidrs,
  });
  return families(view, entries).map((family) => ({
    family,
    services: entries,
    nodeIPs: view.nodeIPs,
    podCidrs: view.clusterCidrs,
    nonMasqueradeCidrs: noMasquerade,
    masqueradeEgress: egress.masqueradeEgress,
    nodeName: view.nodeName,
  }));
}

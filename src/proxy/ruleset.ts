/**
 * Services, endpoints and the node's egress policy → the desired nftables ruleset of one address
 * family (pure). Everything lives in podnet's own table; the hooks are:
 *
 * - nat prerouting and nat output (-100): `services` marks ClusterIP traffic from outside the pod
 *   CIDRs for masquerade, then looks up (daddr . proto . dport) in the `service-ips` verdict map
 *   and NodePorts in `service-nodeports`, so pods and the node itself reach ClusterIPs and
 *   NodePorts; the shared chains per protocol and endpoint count DNAT through the
 *   `service-endpoints` / `nodeport-endpoints` maps (dnat-chains.ts; service-rules.ts says why
 *   only ClientIP-affinity Services have chains of their own).
 * - filter prerouting and filter output (-90, just after DNAT): a new connection still addressed
 *   to a ClusterIP was not translated — its Service has no endpoints or the port is not defined —
 *   and is rejected at once (TCP reset, ICMP port unreachable). After DNAT one set lookup covers
 *   both cases; before it, the filter would need a second copy of every defined port. Prerouting
 *   rather than forward, so a ClusterIP the node has no route for is still refused, not dropped
 *   by routing (reject in prerouting needs Linux 5.9+).
 * - nat postrouting (100): masquerade what was marked (non-pod clients, NodePorts), hairpin
 *   connections (a pod DNATed to itself: source . destination in the `hairpin` set), then egress
 *   masquerade as one set-based rule.
 *
 * The steps: the node's addresses (here), the chains every table has (base-chains.ts), the
 * Services' chains and elements with the shared DNAT chains (render-services.ts), and the shared
 * sets and maps (table-sets.ts).
 */
import type { Endpoint, Service } from "../k8s/service-model.ts";
import { AddressCanonicalizer, ipFamilyOf, normalizeCidrs } from "./addresses.ts";
import { baseChains, nodePortMatch } from "./base-chains.ts";
import type { NftChain, NftFamily, NftNamedSet, RenderProblem, Ruleset } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import { renderServices, type ServiceMemo } from "./render-services.ts";
import { type NodeAddresses, tableSets } from "./table-sets.ts";

export interface ProxyInput {
  /** One table per family; callers render both for dual-stack. */
  readonly family: NftFamily;
  readonly services: readonly { readonly service: Service; readonly endpoints: readonly Endpoint[] }[];
  /** This node's addresses, where NodePorts answer; empty means every local address but loopback. */
  readonly nodeIPs: readonly string[];
  /** The cluster (pod) CIDRs: pod sources are not masqueraded towards Services, pod destinations never. */
  readonly podCidrs: readonly string[];
  /** Egress destinations that keep the pod's address (see masquerade-cidrs.ts); pod CIDRs always do. */
  readonly nonMasqueradeCidrs: readonly string[];
  readonly masqueradeEgress: boolean;
  /**
   * This node's name. Only its own pods can reach themselves through its table, so only they go
   * into the hairpin set (100,000 endpoints cost nft about 0.5 s to load). Without it, every
   * endpoint does.
   */
  readonly nodeName?: string;
}

/** A ruleset as rendered: each Service's entry also says how it was made, for the next render. */
export type RenderedRuleset = Ruleset<ServiceMemo>;

/** The node's CIDRs and addresses of the table's family; what is not an address is a problem. */
function nodeAddresses(
  input: NodeInput,
  addresses: AddressCanonicalizer,
  problems: RenderProblem[],
): NodeAddresses {
  const family = ipFamilyOf(input.family);
  const cidrProblems = (invalid: string[]) => {
    for (const text of invalid)
      problems.push({
        kind: "invalid-cidr",
        subject: text,
        message: `CIDR "${text}" is not an IP prefix; it is skipped`,
      });
  };
  const pods = normalizeCidrs(input.podCidrs, family);
  cidrProblems(pods.invalid);
  // Pod CIDRs are always in the non-masquerade set: pod-to-pod traffic keeps its addresses.
  const noMasq = normalizeCidrs([...input.nonMasqueradeCidrs, ...input.podCidrs], family);
  cidrProblems(noMasq.invalid.filter((t) => !pods.invalid.includes(t)));

  const nodeIPs = new Set<string>();
  for (const text of input.nodeIPs) {
    const ip = addresses.check(text);
    if (ip === undefined)
      problems.push({
        kind: "invalid-node-ip",
        subject: text,
        message: `Node address "${text}" is not an IP address; it is skipped`,
      });
    else if (ip !== "other-family") nodeIPs.add(ip);
  }
  return { podCidrs: pods.cidrs, noMasquerade: noMasq.cidrs, nodeIPs: [...nodeIPs].sort() };
}

/** What a table is rendered from besides its Services. */
export type NodeInput = Omit<ProxyInput, "services">;

/** The part of a table that does not depend on the Services: base chains, shared sets, their problems. */
export interface NodePart {
  /** The shared sets and maps in render order, with the node's own elements. */
  readonly sets: ReadonlyMap<string, NftNamedSet>;
  /** The base chains and shared helper chains (not the DNAT chains, which follow the Services). */
  readonly chains: ReadonlyMap<string, NftChain>;
  readonly problems: readonly RenderProblem[];
}

/** Renders the node part of the table of `input.family`. */
export function renderNodePart(input: NodeInput): NodePart {
  const addr = input.family;
  const problems: RenderProblem[] = [];
  const node = nodeAddresses(input, new AddressCanonicalizer(ipFamilyOf(addr)), problems);
  const chains = new Map<string, NftChain>();
  for (const chain of baseChains(addr, input.masqueradeEgress, nodePortMatch(addr, node.nodeIPs)))
    chains.set(chain.name, chain);
  const sets = new Map(tableSets(addr, node).map((set) => [set.name, set] as const));
  return { sets, chains, problems };
}

/**
 * Renders the desired ruleset of `input.family`; input that cannot be rendered is listed in
 * `problems`. With `previous` (the last render of the same family), Services whose input did not
 * change reuse its chain objects: rendering 10,000 Services after one endpoint change then costs
 * a fraction of a full render, and diffRulesets skips reused chains by identity.
 */
export function renderRuleset(input: ProxyInput, previous?: RenderedRuleset): RenderedRuleset {
  const addr = input.family;
  const nodePart = renderNodePart(input);
  const problems: RenderProblem[] = [...nodePart.problems];
  const addresses = new AddressCanonicalizer(ipFamilyOf(addr));
  const reusable = previous?.family === addr ? previous.services : undefined;
  const { services, dnatChains } = renderServices(input, addresses, reusable, problems);
  const chains = new Map(nodePart.chains);
  for (const chain of dnatChains) chains.set(chain.name, chain);
  return { family: addr, table: TABLE_NAME, sets: nodePart.sets, chains, services, problems };
}

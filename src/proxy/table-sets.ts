/**
 * The table's shared sets and maps, declared with the elements that belong to no Service (the
 * node's CIDRs and addresses); the Services' own elements are kept with each Service
 * (ServiceRules.shared) and merged in when the table is written out.
 */
import type { NftFamily, NftNamedSet } from "./nft-model.ts";
import { NAMES, nodePortEndpointsMap, PROTOS, serviceEndpointsMap } from "./nft-names.ts";

/** The node's side of the input, canonical and of the table's family. */
export interface NodeAddresses {
  /** The pod CIDRs: pod sources are not masqueraded towards Services, pod destinations never. */
  readonly podCidrs: readonly string[];
  /** Egress destinations that keep the pod's address, the pod CIDRs among them. */
  readonly noMasquerade: readonly string[];
  /** Where NodePorts answer, sorted; empty means every local address but loopback. */
  readonly nodeIPs: readonly string[];
}

function set(
  name: string,
  type: string,
  flags: readonly "interval"[],
  elements: readonly string[],
): NftNamedSet {
  return { kind: "set", name, type, flags, elements };
}

/**
 * The endpoint maps come one per protocol, declared by example (`typeof ip daddr . udp dport .
 * numgen … : ip daddr . udp dport`), because a numgen result has no sized type name. Not one map
 * with `th dport`: nft 1.0.6 cannot read that declaration back from the kernel ("conflicting
 * protocols specified: ip vs. th"), so every later transaction adding a rule that uses the map
 * failed; and with `tcp dport` as the data of a shared map nft adds a TCP-only match to the rule.
 */
function endpointMaps(addr: NftFamily): NftNamedSet[] {
  return PROTOS.flatMap((proto) => [
    {
      kind: "map",
      name: serviceEndpointsMap(proto),
      type: `${addr} daddr . ${proto} dport . numgen random mod 1`,
      data: `${addr} daddr . ${proto} dport`,
      typeOf: true,
      elements: new Map(),
    } as const,
    {
      kind: "map",
      name: nodePortEndpointsMap(proto),
      type: `${proto} dport . numgen random mod 1`,
      data: `${addr} daddr . ${proto} dport`,
      typeOf: true,
      elements: new Map(),
    } as const,
  ]);
}

/** The shared sets and maps in render order. */
export function tableSets(addr: NftFamily, node: NodeAddresses): NftNamedSet[] {
  const addrType = addr === "ip" ? "ipv4_addr" : "ipv6_addr";
  return [
    set(NAMES.podCidrs, addrType, ["interval"], node.podCidrs),
    set(NAMES.noMasquerade, addrType, ["interval"], node.noMasquerade),
    set(NAMES.nodeportIPs, addrType, [], node.nodeIPs),
    // These and the maps below hold only what Services add (ServiceRules.shared).
    set(NAMES.clusterIPs, addrType, [], []),
    set(NAMES.noEndpointNodeports, "inet_proto . inet_service", [], []),
    set(NAMES.hairpin, `${addrType} . ${addrType}`, [], []),
    {
      kind: "map",
      name: NAMES.serviceIps,
      type: `${addrType} . inet_proto . inet_service`,
      data: "verdict",
      elements: new Map(),
    },
    {
      kind: "map",
      name: NAMES.serviceNodeports,
      type: "inet_proto . inet_service",
      data: "verdict",
      elements: new Map(),
    },
    ...endpointMaps(addr),
  ];
}

/**
 * The chains every table has, whatever its Services (ruleset.ts describes the hooks): the base
 * chains attached to netfilter, the `services` dispatch chain and the reject path.
 */
import type { NftChain, NftFamily } from "./nft-model.ts";
import { NAMES } from "./nft-names.ts";
import { MARK_TEXT, SET_MARK } from "./service-rules.ts";

const NAT_DST_PRIORITY = -100;
const NAT_SRC_PRIORITY = 100;
/** After DNAT: whatever still has a ClusterIP destination was not translated. */
const REJECT_PRIORITY = -90;

/** The match for traffic to a NodePort: the node's addresses, or every local one but loopback. */
export function nodePortMatch(addr: NftFamily, nodeIPs: readonly string[]): string {
  const loopback = addr === "ip" ? "127.0.0.0/8" : "::1";
  // Without configured node addresses NodePorts answer on every local address except loopback
  // (as kube-proxy does), because a DNAT of 127.0.0.1 traffic would need route_localnet.
  return nodeIPs.length > 0
    ? `${addr} daddr @${NAMES.nodeportIPs}`
    : `fib daddr type local ${addr} daddr != ${loopback}`;
}

export function baseChains(addr: NftFamily, masqueradeEgress: boolean, nodeportMatch: string): NftChain[] {
  const icmp = addr === "ip" ? "icmp" : "icmpv6";
  const postrouting = [
    // The bit is cleared so it does not leak into whatever else looks at marks (policy routing).
    `meta mark & ${MARK_TEXT} == ${MARK_TEXT} meta mark set meta mark ^ ${MARK_TEXT} masquerade fully-random`,
    // Hairpin: a pod reaching itself through its Service would get the reply straight from its
    // own stack with the wrong source; masquerading makes the reply return through conntrack.
    `ct status dnat ${addr} saddr . ${addr} daddr @${NAMES.hairpin} masquerade fully-random`,
  ];
  if (masqueradeEgress) {
    postrouting.push(
      `${addr} saddr @${NAMES.podCidrs} ${addr} daddr != @${NAMES.noMasquerade} masquerade fully-random`,
    );
  }
  const hooked = (
    name: string,
    type: "filter" | "nat",
    hook: "prerouting" | "output" | "postrouting",
    priority: number,
    rules: string[],
  ): NftChain => ({
    name,
    hook: { type, hook, priority },
    rules,
  });
  return [
    hooked(NAMES.natPrerouting, "nat", "prerouting", NAT_DST_PRIORITY, [`jump ${NAMES.services}`]),
    hooked(NAMES.natOutput, "nat", "output", NAT_DST_PRIORITY, [`jump ${NAMES.services}`]),
    hooked(NAMES.natPostrouting, "nat", "postrouting", NAT_SRC_PRIORITY, postrouting),
    hooked(NAMES.filterPrerouting, "filter", "prerouting", REJECT_PRIORITY, [
      `ct state new jump ${NAMES.rejectCheck}`,
    ]),
    hooked(NAMES.filterOutput, "filter", "output", REJECT_PRIORITY, [
      `ct state new jump ${NAMES.rejectCheck}`,
    ]),
    {
      name: NAMES.services,
      rules: [
        // Clients outside the pod CIDRs (the node itself, other hosts) are masqueraded so the
        // endpoint's reply comes back through this node's conntrack entry and gets un-DNATed.
        `${addr} daddr @${NAMES.clusterIPs} ${addr} saddr != @${NAMES.podCidrs} ${SET_MARK}`,
        `${addr} daddr . meta l4proto . th dport vmap @${NAMES.serviceIps}`,
        `${nodeportMatch} meta l4proto . th dport vmap @${NAMES.serviceNodeports}`,
      ],
    },
    {
      name: NAMES.rejectCheck,
      rules: [
        `${addr} daddr @${NAMES.clusterIPs} goto ${NAMES.reject}`,
        // `ct status dnat` guards against a DNAT that happened to land on a node address and port.
        `ct status & dnat == 0 ${nodeportMatch} meta l4proto . th dport @${NAMES.noEndpointNodeports} goto ${NAMES.reject}`,
      ],
    },
    {
      name: NAMES.reject,
      rules: ["meta l4proto tcp reject with tcp reset", `reject with ${icmp} type port-unreachable`],
    },
  ];
}

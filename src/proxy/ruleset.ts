/**
 * Services, endpoints and the node's egress policy → the desired nftables ruleset of one address
 * family (pure). Everything lives in podnet's own table; the hooks are:
 *
 * - nat prerouting and nat output (-100): `services` marks ClusterIP traffic from outside the pod
 *   CIDRs for masquerade, then looks up (daddr . proto . dport) in the `service-ips` verdict map
 *   and NodePorts in `service-nodeports`, so pods and the node itself reach ClusterIPs and
 *   NodePorts; the service chains DNAT through `service-endpoints` / `nodeport-endpoints` (see
 *   service-rules.ts).
 * - filter prerouting and filter output (-90, just after DNAT): a new connection still addressed
 *   to a ClusterIP was not translated — its Service has no endpoints or the port is not defined —
 *   and is rejected at once (TCP reset, ICMP port unreachable). After DNAT one set lookup covers
 *   both cases; before it, the filter would need a second copy of every defined port. Prerouting
 *   rather than forward, so a ClusterIP the node has no route for is still refused, not dropped
 *   by routing (reject in prerouting needs Linux 5.9+).
 * - nat postrouting (100): masquerade what was marked (non-pod clients, NodePorts), hairpin
 *   connections (a pod DNATed to itself: source . destination in the `hairpin` set), then egress
 *   masquerade as one set-based rule.
 */
import type { Endpoint, Service } from "../cluster/service-model.ts";
import { serviceKey } from "../cluster/service-model.ts";
import { AddressCanonicalizer, ipFamilyOf, normalizeCidrs } from "./addresses.ts";
import type { NftChain, NftFamily, NftNamedSet, RenderProblem, Ruleset } from "./nft-model.ts";
import { NO_SHARED_ELEMENTS, TABLE_NAME } from "./nft-model.ts";
import {
  endpointsChainName,
  NAMES,
  nodePortEndpointsChainName,
  nodePortEndpointsMap,
  serviceEndpointsMap,
} from "./nft-names.ts";
import {
  claimPorts,
  inputFingerprint,
  type PortOwners,
  resolveService,
  type ServiceMemo,
} from "./service-plan.ts";
import { MARK_TEXT, renderServicePort, SET_MARK } from "./service-rules.ts";
import { sharedElementsOf } from "./shared-elements.ts";

export { NAMES } from "./nft-names.ts";
export { renderNft } from "./render-nft.ts";
export { MASQUERADE_MARK } from "./service-rules.ts";

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

/**
 * The endpoint maps come one per protocol, declared by example (`typeof ip daddr . udp dport .
 * numgen … : ip daddr . udp dport`), because a numgen result has no sized type name. Not one map
 * with `th dport`: nft 1.0.6 cannot read that declaration back from the kernel ("conflicting
 * protocols specified: ip vs. th"), so every later transaction adding a rule that uses the map
 * failed; and with `tcp dport` as the data of a shared map nft adds a TCP-only match to the rule.
 */
type Proto = "tcp" | "udp" | "sctp";
const PROTOS: readonly Proto[] = ["tcp", "udp", "sctp"];

const NAT_DST_PRIORITY = -100;
const NAT_SRC_PRIORITY = 100;
/** After DNAT: whatever still has a ClusterIP destination was not translated. */
const REJECT_PRIORITY = -90;

function set(name: string, type: string, flags: readonly "interval"[], elements: string[]): NftNamedSet {
  return { kind: "set", name, type, flags, elements };
}

function baseChains(input: ProxyInput, nodeportMatch: string): NftChain[] {
  const addr = input.family;
  const icmp = addr === "ip" ? "icmp" : "icmpv6";
  const postrouting = [
    // The bit is cleared so it does not leak into whatever else looks at marks (policy routing).
    `meta mark & ${MARK_TEXT} == ${MARK_TEXT} meta mark set meta mark ^ ${MARK_TEXT} masquerade fully-random`,
    // Hairpin: a pod reaching itself through its Service would get the reply straight from its
    // own stack with the wrong source; masquerading makes the reply return through conntrack.
    `ct status dnat ${addr} saddr . ${addr} daddr @${NAMES.hairpin} masquerade fully-random`,
  ];
  if (input.masqueradeEgress) {
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

/**
 * Renders the desired ruleset of `input.family`; input that cannot be rendered is listed in
 * `problems`. With `previous` (the last render of the same family), Services whose input did not
 * change reuse its chain objects: rendering 10,000 Services after one endpoint change then costs
 * a fraction of a full render, and diffRulesets skips reused chains by identity.
 */
export function renderRuleset(input: ProxyInput, previous?: Ruleset): Ruleset {
  const addr = input.family;
  const family = ipFamilyOf(addr);
  const addrType = addr === "ip" ? "ipv4_addr" : "ipv6_addr";
  const problems: RenderProblem[] = [];
  const addresses = new AddressCanonicalizer(family);
  const prevServices = previous?.family === addr ? previous.services : undefined;

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
  const loopback = addr === "ip" ? "127.0.0.0/8" : "::1";
  // Without configured node addresses NodePorts answer on every local address except loopback
  // (as kube-proxy does), because a DNAT of 127.0.0.1 traffic would need route_localnet.
  const nodeportMatch =
    nodeIPs.size > 0
      ? `${addr} daddr @${NAMES.nodeportIPs}`
      : `fib daddr type local ${addr} daddr != ${loopback}`;

  const chains = new Map<string, NftChain>();
  for (const chain of baseChains(input, nodeportMatch)) chains.set(chain.name, chain);
  /** "proto/count" pairs whose shared DNAT chains are in use. */
  const endpointsChains = new Set<string>();
  const nodeportEndpointsChains = new Set<string>();
  const owners: PortOwners = { ports: new Map(), nodePorts: new Map() };
  const services = new Map<string, ServiceMemo>();

  const sorted = input.services
    .map((entry) => ({ entry, key: serviceKey(entry.service) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const { entry, key } of sorted) {
    if (services.has(key)) {
      problems.push({
        kind: "duplicate-service",
        subject: key,
        message: `Service "${key}" is listed twice; the second is skipped`,
      });
      continue;
    }
    const fingerprint = inputFingerprint(entry.service, entry.endpoints, input.nodeName);
    const old = prevServices?.get(key);
    const same = old !== undefined && old.fingerprint === fingerprint;
    const found: RenderProblem[] = [];
    const resolved = same
      ? old.resolved
      : resolveService(addresses, entry.service, entry.endpoints, found, input.nodeName);
    const resolveProblems = same ? old.problems : found;
    problems.push(...resolveProblems);
    if (resolved === undefined) {
      services.set(key, {
        fingerprint,
        resolved,
        problems: resolveProblems,
        claims: "",
        outputs: [],
        chains: [],
        sets: [],
        shared: NO_SHARED_ELEMENTS,
      });
      continue;
    }
    const claims = claimPorts(resolved, entry.service.ports, owners, problems);
    let memo: ServiceMemo;
    if (same && old.claims === claims.key) {
      memo = old;
    } else {
      const outputs = claims.ports.map((port) => renderServicePort(addr, resolved, port));
      memo = {
        fingerprint,
        resolved,
        problems: resolveProblems,
        claims: claims.key,
        outputs,
        chains: outputs.flatMap((o) => o.chains),
        sets: outputs.flatMap((o) => o.sets),
        shared: sharedElementsOf(resolved, outputs),
      };
    }
    services.set(key, memo);
    for (const out of memo.outputs) {
      const proto = out.protocol.toLowerCase() as Proto;
      if (out.endpointsChain !== undefined) endpointsChains.add(`${proto}/${out.endpointsChain}`);
      if (out.nodePortEndpointsChain !== undefined)
        nodeportEndpointsChains.add(`${proto}/${out.nodePortEndpointsChain}`);
    }
  }

  // The shared DNAT chains, one per protocol and endpoint count in use (service-rules.ts says why).
  const dnat = (name: string, count: number, key: string, map: string) =>
    chains.set(name, { name, rules: [`dnat ${addr} to ${key} . numgen random mod ${count} map @${map}`] });
  const byProtoThenCount = (pairs: Set<string>) =>
    [...pairs]
      .map((p) => p.split("/") as [Proto, string])
      .map(([proto, n]) => [proto, Number(n)] as const)
      .sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
  for (const [proto, n] of byProtoThenCount(endpointsChains))
    dnat(endpointsChainName(proto, n), n, `${addr} daddr . ${proto} dport`, serviceEndpointsMap(proto));
  for (const [proto, n] of byProtoThenCount(nodeportEndpointsChains))
    dnat(nodePortEndpointsChainName(proto, n), n, `${proto} dport`, nodePortEndpointsMap(proto));

  const sets = new Map<string, NftNamedSet>();
  for (const s of [
    set(NAMES.podCidrs, addrType, ["interval"], pods.cidrs),
    set(NAMES.noMasquerade, addrType, ["interval"], noMasq.cidrs),
    set(NAMES.nodeportIPs, addrType, [], [...nodeIPs].sort()),
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
    } as const,
    {
      kind: "map",
      name: NAMES.serviceNodeports,
      type: "inet_proto . inet_service",
      data: "verdict",
      elements: new Map(),
    } as const,
    ...PROTOS.flatMap((proto) => [
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
    ]),
  ])
    sets.set(s.name, s);
  return { family: addr, table: TABLE_NAME, sets, chains, services, problems };
}

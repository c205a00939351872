/**
 * Services, endpoints and the node's egress policy → the desired nftables ruleset of one address
 * family (pure). Everything lives in podnet's own table; the hooks are:
 *
 * - nat prerouting and nat output (-100): `services` looks up (daddr . proto . dport) in the
 *   `service-ips` verdict map and NodePorts in `service-nodeports`, so pods and the node itself
 *   reach ClusterIPs and NodePorts.
 * - filter prerouting and filter output (-90, just after DNAT): a new connection still addressed
 *   to a ClusterIP was not translated — its Service has no endpoints or the port is not defined —
 *   and is rejected at once (TCP reset, ICMP port unreachable). After DNAT one set lookup covers
 *   both cases; before it, the filter would need a second copy of every defined port. Prerouting
 *   rather than forward, so a ClusterIP the node has no route for is still refused, not dropped
 *   by routing (reject in prerouting needs Linux 5.9+).
 * - nat postrouting (100): masquerade what the service chains marked (hairpin, non-pod clients,
 *   NodePorts), then egress masquerade as one set-based rule.
 */
import type { Endpoint, Service } from "../cluster/service-model.ts";
import { serviceKey } from "../cluster/service-model.ts";
import { AddressCanonicalizer, ipFamilyOf, normalizeCidrs } from "./addresses.ts";
import type { NftChain, NftFamily, NftNamedSet, RenderProblem, Ruleset } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import {
  claimPorts,
  inputFingerprint,
  type PortOwners,
  resolveService,
  type ServiceMemo,
} from "./service-plan.ts";
import { MARK_TEXT, POD_CIDRS_SET, renderServicePort } from "./service-rules.ts";

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
}

/** Names of the table's shared chains and sets (per-service ones are in nft-names.ts). */
export const NAMES = {
  natPrerouting: "nat-prerouting",
  natOutput: "nat-output",
  natPostrouting: "nat-postrouting",
  filterPrerouting: "filter-prerouting",
  filterOutput: "filter-output",
  services: "services",
  rejectCheck: "reject-check",
  reject: "reject-service",
  podCidrs: POD_CIDRS_SET,
  noMasquerade: "no-masquerade",
  nodeportIPs: "nodeport-ips",
  clusterIPs: "cluster-ips",
  serviceIps: "service-ips",
  serviceNodeports: "service-nodeports",
  noEndpointNodeports: "no-endpoint-nodeports",
} as const;

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
  const serviceIps = new Map<string, string>();
  const serviceNodeports = new Map<string, string>();
  const noEndpointNodeports: string[] = [];
  const clusterIPs = new Set<string>();
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
    const fingerprint = inputFingerprint(entry.service, entry.endpoints);
    const old = prevServices?.get(key);
    const same = old !== undefined && old.fingerprint === fingerprint;
    const found: RenderProblem[] = [];
    const resolved = same ? old.resolved : resolveService(addresses, entry.service, entry.endpoints, found);
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
      });
      continue;
    }
    clusterIPs.add(resolved.clusterIP);
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
      };
    }
    services.set(key, memo);
    for (const out of memo.outputs) {
      if (out.serviceIp) serviceIps.set(out.serviceIp[0], out.serviceIp[1]);
      if (out.nodePort) serviceNodeports.set(out.nodePort[0], out.nodePort[1]);
      if (out.noEndpointNodePort !== undefined) noEndpointNodeports.push(out.noEndpointNodePort);
    }
  }

  const sets = new Map<string, NftNamedSet>();
  for (const s of [
    set(NAMES.podCidrs, addrType, ["interval"], pods.cidrs),
    set(NAMES.noMasquerade, addrType, ["interval"], noMasq.cidrs),
    set(NAMES.nodeportIPs, addrType, [], [...nodeIPs].sort()),
    set(NAMES.clusterIPs, addrType, [], [...clusterIPs].sort()),
    set(NAMES.noEndpointNodeports, "inet_proto . inet_service", [], noEndpointNodeports),
    {
      kind: "map",
      name: NAMES.serviceIps,
      type: `${addrType} . inet_proto . inet_service`,
      elements: serviceIps,
    } as const,
    {
      kind: "map",
      name: NAMES.serviceNodeports,
      type: "inet_proto . inet_service",
      elements: serviceNodeports,
    } as const,
  ])
    sets.set(s.name, s);
  return { family: addr, table: TABLE_NAME, sets, chains, services, problems };
}

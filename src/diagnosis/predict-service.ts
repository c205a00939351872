/**
 * The two nft decisions of podnet's proxy table on one node (pure), as the node's rules state them
 * (NodeFacts.nft, read back from `ip podnet` or `ip6 podnet`, the table of the packet's family) and,
 * where a node did not report them, as the
 * datastore says they should be: the Service lookup (DNAT to one of the candidate endpoints, or the
 * reject chain) and the masquerade decision at postrouting. The rule order mirrors
 * proxy/base-chains.ts: `services` (mark ClusterIP traffic from outside the pod network, vmap
 * service-ips, vmap service-nodeports), `reject-check`, and nat-postrouting's three masquerades.
 */
import type { NftSetFact, NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { canonicalIP, type Family, sameIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { ServicePort } from "../k8s/service-model.ts";
import { isOfTable, nftFamilyWord, proxyTableOf } from "../linux/nft-table-family.ts";
import { NAMES, nodePortEndpointsMap, serviceEndpointsMap } from "../proxy/nft-names.ts";
import type { ClusterSnapshot, ServiceView } from "./cluster-snapshot.ts";
import { nftChain, nftSet, reportsProxyTable } from "./drift-services.ts";
import { masqueradeAddress } from "./predict-route.ts";
import type { Candidate, DropReason, HopCommand, PacketHeader } from "./prediction-types.ts";
import { familyOf, inAny, serviceByClusterIP } from "./trace-net.ts";

export type ServiceStep =
  | { readonly kind: "none" }
  | {
      readonly kind: "dnat";
      readonly service: string;
      readonly servicePort: ServicePort;
      readonly nodePort: boolean;
      readonly candidates: readonly Candidate[];
      /** Marked for masquerade (NodePort, or ClusterIP traffic from outside the pod network). */
      readonly marked: boolean;
      readonly description: string;
      readonly evidence: readonly string[];
      readonly commands: readonly HopCommand[];
    }
  | {
      readonly kind: "reject";
      readonly service?: string;
      readonly reason: DropReason;
      readonly message: string;
      readonly evidence: readonly string[];
      readonly commands: readonly HopCommand[];
    };

/** Whether the node reported the proxy table of `family` with its sets. */
function hasRules(facts: NodeFacts, family: Family): boolean {
  return reportsProxyTable(facts, family) && facts.nft.sets.some((s) => isOfTable(s, family));
}

function setHasAddress(s: NftSetFact | undefined, ip: string): boolean {
  return !!s?.elements.some((e) => e.key.length === 1 && e.key[0] !== undefined && sameIP(e.key[0], ip));
}

function setPrefixes(s: NftSetFact | undefined): string[] {
  return s ? s.elements.map((e) => e.key[0] ?? "").filter((k) => k !== "") : [];
}

function serviceName(view: ServiceView): string {
  return `${view.service.namespace}/${view.service.name}`;
}

function endpointsFromMap(
  facts: NodeFacts,
  mapName: string,
  key: readonly string[],
  snapshot: ClusterSnapshot,
  view: ServiceView,
  family: Family,
): Candidate[] {
  const map = nftSet(facts, mapName, family);
  const found: Candidate[] = [];
  for (const e of map?.elements ?? []) {
    if (e.key.length !== key.length + 1 || !key.every((k, i) => e.key[i] === k)) continue;
    const ip = e.value?.[0];
    const port = Number(e.value?.[1]);
    if (!ip) continue;
    const endpoint = view.endpoints.find((x) => sameIP(x.ip, ip));
    const pod = endpoint ? undefined : snapshot.pods.find((p) => p.ips.some((a) => sameIP(a, ip)));
    found.push({
      ip: canonicalIP(ip) ?? ip,
      ...(Number.isInteger(port) ? { port } : {}),
      ...(endpoint
        ? { pod: endpoint.pod, node: endpoint.node }
        : pod
          ? { pod: `${pod.namespace}/${pod.name}`, node: pod.node }
          : {}),
    });
  }
  return found;
}

function fromSnapshot(view: ServiceView, port: ServicePort, family: 4 | 6): Candidate[] {
  return view.endpoints
    .filter((e) => familyOf(e.ip) === family)
    .map((e) => ({ ip: canonicalIP(e.ip) ?? e.ip, port: port.targetPort, pod: e.pod, node: e.node }));
}

/**
 * What the node's Service rules do with a new connection `packet` (prerouting, or output when the
 * node originates it).
 */
export function serviceStep(snapshot: ClusterSnapshot, facts: NodeFacts, packet: PacketHeader): ServiceStep {
  const node = facts.node;
  const proto = packet.proto;
  const family = familyOf(packet.dst);
  const table = proxyTableOf(facts.nft, family);
  const rules = hasRules(facts, family);
  const set = (name: string) => nftSet(facts, name, family);
  const podCidrs = rules ? setPrefixes(set(NAMES.podCidrs)) : snapshot.config.clusterCidrs;
  const view = serviceByClusterIP(snapshot, packet.dst);
  const clusterIP = view !== undefined || (rules && setHasAddress(set(NAMES.clusterIPs), packet.dst));
  if (clusterIP) {
    const name = view ? serviceName(view) : undefined;
    const commands: HopCommand[] = [
      { node, command: `nft list map ${table} ${NAMES.serviceIps}` },
      ...(proto === "icmp" ? [] : [{ node, command: `nft list map ${table} ${serviceEndpointsMap(proto)}` }]),
    ];
    const refuse = (reason: DropReason, message: string, evidence: string[]): ServiceStep => ({
      kind: "reject",
      ...(name ? { service: name } : {}),
      reason,
      message,
      evidence: [
        ...evidence,
        `reject-check: ${nftFamilyWord(family)} daddr @cluster-ips goto reject-service → ${proto === "tcp" ? "TCP reset" : "ICMP port unreachable"}`,
      ],
      commands: [...commands, { node, command: `nft list chain ${table} ${NAMES.reject}` }],
    });
    const port = view?.service.ports.find(
      (p) => packet.dport !== undefined && p.port === packet.dport && p.protocol === proto.toUpperCase(),
    );
    if (!view || !port) {
      const listed =
        view?.service.ports.map((p) => `${p.port}/${p.protocol.toLowerCase()}`).join(", ") ?? "none";
      const what = proto === "icmp" ? "icmp" : `${proto}/${packet.dport}`;
      return refuse(
        "unknown-service-port",
        `${packet.dst} is the ClusterIP of ${name ?? "a Service"}, which has no port ${what} (its ports: ${listed}): ${node} rejects it`,
        [`${name ?? packet.dst} ports: ${listed}`],
      );
    }
    const l4 = proto === "icmp" ? "tcp" : proto;
    const endpointsMap = serviceEndpointsMap(l4);
    if (view.endpoints.length === 0)
      return refuse(
        "no-endpoints",
        `${name} has no endpoints: ${node}'s reject-service chain refuses the connection`,
        [`${name}: no pod matches its selector ${JSON.stringify(view.service.selector)}`],
      );
    const key = [canonicalIP(packet.dst) ?? packet.dst, proto, String(port.port)];
    const vmap = set(NAMES.serviceIps);
    const entry = vmap?.elements.find(
      (e) =>
        e.key.length === 3 &&
        e.key[0] !== undefined &&
        sameIP(e.key[0], packet.dst) &&
        e.key[1] === proto &&
        e.key[2] === key[2],
    );
    if (rules && !entry) {
      return refuse(
        "service-rules-missing",
        `${node}'s nft map service-ips has no entry for ${packet.dst} ${proto}/${port.port} although the datastore has ${name}: ${node} rejects it`,
        [`nft list map ${table} ${NAMES.serviceIps} → no ${key.join(" . ")}`],
      );
    }
    const candidates = rules
      ? endpointsFromMap(facts, endpointsMap, [key[0] ?? packet.dst, key[2] ?? ""], snapshot, view, family)
      : fromSnapshot(view, port, family);
    if (candidates.length === 0)
      return refuse(
        "service-rules-missing",
        `${node}'s ${endpointsMap} has no endpoint for ${name} ${proto}/${port.port} although the datastore lists ${view.endpoints.length}: ${node} rejects it`,
        [`nft list map ${table} ${endpointsMap} → nothing for ${key[0]} . ${key[2]}`],
      );
    const marked = packet.src !== undefined && !inAny(packet.src, podCidrs);
    const affinity =
      view.service.sessionAffinity.kind === "ClientIP"
        ? `, ClientIP affinity for ${view.service.sessionAffinity.timeoutSeconds}s`
        : "";
    return {
      kind: "dnat",
      service: name ?? packet.dst,
      servicePort: port,
      nodePort: false,
      candidates,
      marked,
      description: `Service ${name} ${proto}/${port.port}: DNAT to one of ${candidates.length} endpoint(s) (numgen random${affinity})${marked ? "; marked for masquerade (the source is outside the pod network)" : ""}`,
      evidence: [
        entry
          ? `service-ips: ${entry.key.join(" . ")} : ${entry.value?.join(" ") ?? ""}`
          : `datastore: ${name} ${proto}/${port.port} → targetPort ${port.targetPort}`,
        `${rules ? endpointsMap : "datastore endpoints"}: ${candidates.map((c) => `${hostPort(c.ip, c.port)}${c.pod ? ` (${c.pod})` : ""}`).join(", ")}`,
      ],
      commands,
    };
  }

  // NodePort: the destination is one of this node's NodePort addresses.
  const nodePortIPs = rules ? set(NAMES.nodeportIPs) : undefined;
  const isNodePortIP = nodePortIPs
    ? setHasAddress(nodePortIPs, packet.dst)
    : facts.agent.nodeIPs.some((a) => sameIP(a, packet.dst));
  if (!isNodePortIP || packet.dport === undefined || proto === "icmp") return { kind: "none" };
  const owner = snapshot.services.find((v) =>
    v.service.ports.some((p) => p.nodePort === packet.dport && p.protocol === proto.toUpperCase()),
  );
  const port = owner?.service.ports.find(
    (p) => p.nodePort === packet.dport && p.protocol === proto.toUpperCase(),
  );
  if (!owner || !port) return { kind: "none" };
  const name = serviceName(owner);
  const commands: HopCommand[] = [
    { node, command: `nft list map ${table} ${NAMES.serviceNodeports}` },
    { node, command: `nft list map ${table} ${nodePortEndpointsMap(proto)}` },
  ];
  const candidates = rules
    ? endpointsFromMap(facts, nodePortEndpointsMap(proto), [String(packet.dport)], snapshot, owner, family)
    : fromSnapshot(owner, port, family);
  if (candidates.length === 0)
    return {
      kind: "reject",
      service: name,
      reason: "no-endpoints",
      message: `${name} (NodePort ${proto}/${packet.dport}) has no endpoints: ${node} rejects the connection`,
      evidence: [`no-endpoint-nodeports / ${nodePortEndpointsMap(proto)} on ${node}`],
      commands: [...commands, { node, command: `nft list chain ${table} ${NAMES.reject}` }],
    };
  return {
    kind: "dnat",
    service: name,
    servicePort: port,
    nodePort: true,
    candidates,
    marked: true,
    description: `NodePort ${proto}/${packet.dport} of ${name}: marked for masquerade, DNAT to one of ${candidates.length} endpoint(s) (numgen random)`,
    evidence: [
      `service-nodeports: ${proto} . ${packet.dport} → ${name} ${proto}/${port.port}`,
      `${nodePortEndpointsMap(proto)}: ${candidates.map((c) => hostPort(c.ip, c.port)).join(", ")}`,
    ],
    commands,
  };
}

export interface MasqueradeStep {
  readonly ip: string;
  readonly why: string;
  readonly evidence: readonly string[];
}

/** Whether nat-postrouting masquerades the connection's first packet leaving by `oif`, and to what. */
export function masqueradeStep(
  snapshot: ClusterSnapshot,
  facts: NodeFacts,
  packet: PacketHeader,
  context: { marked: boolean; dnatted: boolean; oif: string },
): MasqueradeStep | undefined {
  const family = familyOf(packet.dst);
  const rules = hasRules(facts, family);
  const set = (name: string) => nftSet(facts, name, family);
  const chain = nftChain(facts, NAMES.natPostrouting, family)?.rules ?? [];
  const ruleText = (needle: string) => chain.find((r) => r.includes(needle));
  const address = masqueradeAddress(facts, context.oif, family);
  const to = (why: string, rule: string | undefined): MasqueradeStep | undefined =>
    address
      ? {
          ip: address,
          why,
          evidence: [
            rule ? `nat-postrouting: ${rule}` : "nat-postrouting (datastore view)",
            `${context.oif} address ${address}`,
          ],
        }
      : undefined;
  if (context.marked)
    return to("the connection was marked for masquerade by the Service rules", ruleText("meta mark"));
  const hairpin = rules
    ? !!set(NAMES.hairpin)?.elements.some(
        (e) =>
          e.key[0] !== undefined &&
          e.key[1] !== undefined &&
          sameIP(e.key[0], packet.src) &&
          sameIP(e.key[1], packet.dst),
      )
    : sameIP(packet.src, packet.dst);
  if (context.dnatted && hairpin)
    return to(
      "hairpin: the pod reaches itself through its Service, so the reply must come back through the node",
      ruleText("@hairpin"),
    );
  const podCidrs = rules ? setPrefixes(set(NAMES.podCidrs)) : snapshot.config.clusterCidrs;
  const keep = rules
    ? setPrefixes(set(NAMES.noMasquerade))
    : [...snapshot.config.clusterCidrs, ...snapshot.config.serviceCidrs];
  if (inAny(packet.src, podCidrs) && !inAny(packet.dst, keep))
    return to(
      `${packet.dst} is outside the no-masquerade set (${keep.join(", ") || "empty"}): pods reach it with their node's address`,
      ruleText("@no-masquerade"),
    );
  return undefined;
}

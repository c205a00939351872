/**
 * Whether a node's Service proxy tables agree with the datastore (pure): every ClusterIP in
 * `cluster-ips`, every port of a Service with endpoints in `service-ips`, and exactly the Service's
 * endpoints in `service-endpoints-PROTO` (keyed `clusterIP . port . index : podIP . targetPort`).
 * Every NodePort of a Service with endpoints in `service-nodeports`, and exactly its endpoints in
 * `nodeport-endpoints-PROTO` (keyed `nodePort . index : podIP . targetPort`).
 * Per family, as the proxy renders them (proxy/service-plan.ts): `ip podnet` holds the IPv4
 * ClusterIP and IPv4 endpoints, `ip6 podnet` the IPv6 ones; a Service without a ClusterIP of a
 * family has no NodePort in that family's table either. The agents report `ip6 podnet` when the
 * node holds an IPv6 block, its sets and chains tagged `family: "ip6"`. Each table is live under
 * `podnet` or `podnet-b` (linux/nft-table-family.ts): the agents read the live one (with base
 * chains) and name it, and the commands shown name it too. A table listed without base chains
 * sees no packet: the node has no live table, and drift says that one was cut short.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { canonicalIP, type Family, sameIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { Service, ServicePort } from "../k8s/service-model.ts";
import type { NftChainFact, NftSetFact } from "../linux/kernel-facts.ts";
import {
  isOfTable,
  nftFamilyWord,
  PROXY_TABLE_NAMES,
  proxyTableName,
  proxyTableOf,
  reportedProxyTable,
  unhookedProxyTables,
  unhookedTablesText,
} from "../linux/nft-table-family.ts";
import { NAMES, nodePortEndpointsMap, type Proto, serviceEndpointsMap } from "../proxy/nft-names.ts";
import type { ClusterSnapshot, ServiceView } from "./cluster-snapshot.ts";
import type { Drift } from "./drift-kinds.ts";
import { familyOf } from "./trace-net.ts";

/**
 * Whether the node reports its proxy table of `family` (live under either name). For IPv6 that
 * needs the table listed and its contents tagged: an agent before both tables were told apart
 * sent the ip6 sets untagged, mixed with the ip ones, so what its IPv6 table holds is unknown,
 * not missing.
 */
export function reportsProxyTable(facts: NodeFacts, family: Family): boolean {
  if (reportedProxyTable(facts.nft, family) === undefined) return false;
  return (
    family === 4 ||
    facts.nft.sets.some((s) => s.family === "ip6") ||
    facts.nft.chains.some((c) => c.family === "ip6")
  );
}

/** Whether the node reports its IPv4 proxy table (one argument: usable as a filter). */
export function hasProxyTable(facts: NodeFacts): boolean {
  return reportsProxyTable(facts, 4);
}

/** A set or map of the proxy table of `family`. */
export function nftSet(facts: NodeFacts, name: string, family: Family = 4): NftSetFact | undefined {
  return facts.nft.sets.find((s) => s.name === name && isOfTable(s, family));
}

/** A chain of the proxy table of `family`. */
export function nftChain(facts: NodeFacts, name: string, family: Family = 4): NftChainFact | undefined {
  return facts.nft.chains.find((c) => c.name === name && isOfTable(c, family));
}

/** Whether the set has an element whose key is exactly `key` (addresses compared canonically). */
export function setHas(set: NftSetFact | undefined, key: readonly string[]): boolean {
  return (set?.elements ?? []).some(
    (e) => e.key.length === key.length && e.key.every((k, i) => k === key[i] || sameIP(k, key[i] ?? "")),
  );
}

export function protoOf(p: ServicePort): Proto {
  return p.protocol === "TCP" ? "tcp" : p.protocol === "UDP" ? "udp" : "sctp";
}

/** An endpoint as drift and explain name it: "10.244.1.5:8080", "[fd00:10:244:1::5]:8080". */
export function endpointText(ip: string, port: number | string): string {
  return hostPort(canonicalIP(ip) ?? ip, port);
}

/** An endpoint text as the map's value prints it: "10.244.1.5 . 8080". */
function mapValueText(endpoint: string): string {
  const m = /^\[?(.*?)\]?:([^:\]]*)$/.exec(endpoint);
  return m ? `${m[1]} . ${m[2]}` : endpoint;
}

function inFamily(ip: string, family: Family): boolean {
  const canonical = canonicalIP(ip);
  return canonical !== undefined && familyOf(canonical) === family;
}

/** The endpoints (podIP . targetPort) a node's map holds for one ClusterIP (of either family) and port. */
export function mapEndpoints(facts: NodeFacts, clusterIP: string, port: ServicePort): string[] {
  const map = nftSet(facts, serviceEndpointsMap(protoOf(port)), familyOf(clusterIP));
  return (map?.elements ?? [])
    .filter((e) => sameIP(e.key[0] ?? "", clusterIP) && e.key[1] === String(port.port))
    .map((e) => endpointText(e.value?.[0] ?? "?", e.value?.[1] ?? "?"));
}

function serviceName(s: Service): string {
  return `${s.namespace}/${s.name}`;
}

/** A Service's ClusterIP of `family` against that family's proxy table on one node. */
function checkService(facts: NodeFacts, view: ServiceView, family: Family): Drift[] {
  const drift: Drift[] = [];
  const svc = serviceName(view.service);
  const table = proxyTableOf(facts.nft, family);
  const add = (kind: Drift["kind"], subject: string, problem: string, evidence: string, command: string) =>
    drift.push({ node: facts.node, kind, subject, problem, evidence, command });
  for (const ip of view.service.clusterIPs.filter((c) => inFamily(c, family))) {
    const clusterIP = canonicalIP(ip) ?? ip;
    if (!setHas(nftSet(facts, NAMES.clusterIPs, family), [clusterIP])) {
      add(
        "missing-service",
        clusterIP,
        `its proxy table does not know ClusterIP ${clusterIP} of Service ${svc}`,
        `set ${NAMES.clusterIPs} of ${table} has no element ${clusterIP}`,
        `nft list set ${table} ${NAMES.clusterIPs}`,
      );
    }
    const endpoints = view.endpoints.filter((e) => inFamily(e.ip, family));
    for (const port of view.service.ports) {
      const proto = protoOf(port);
      if (
        endpoints.length > 0 &&
        !setHas(nftSet(facts, NAMES.serviceIps, family), [clusterIP, proto, String(port.port)])
      ) {
        add(
          "missing-service",
          `${hostPort(clusterIP, port.port)}/${proto}`,
          `its proxy table does not send ${hostPort(clusterIP, port.port)}/${proto} of Service ${svc} to its endpoints`,
          `map ${NAMES.serviceIps} of ${table} has no element ${clusterIP} . ${proto} . ${port.port}`,
          `nft list map ${table} ${NAMES.serviceIps}`,
        );
      }
      const have = mapEndpoints(facts, clusterIP, port);
      const want = endpoints.map((e) => endpointText(e.ip, port.targetPort));
      const map = serviceEndpointsMap(proto);
      const command = `nft list map ${table} ${map}`;
      for (const w of want.filter((x) => !have.includes(x))) {
        const pod = endpoints.find((e) => endpointText(e.ip, port.targetPort) === w)?.pod;
        add(
          "missing-endpoint",
          w,
          `its proxy lacks endpoint ${w}${pod ? ` (${pod})` : ""} of Service ${svc} ${proto}/${port.port}`,
          `map ${map} has ${have.length} endpoint(s) for ${clusterIP} . ${port.port}: ${have.join(", ") || "none"}`,
          command,
        );
      }
      for (const h of have.filter((x) => !want.includes(x))) {
        add(
          "stale-endpoint",
          h,
          `its proxy still sends ${svc} ${proto}/${port.port} to ${h}, which is not an endpoint`,
          `map ${map} has ${clusterIP} . ${port.port} . N : ${mapValueText(h)}`,
          command,
        );
      }
    }
  }
  if (view.service.clusterIPs.some((c) => inFamily(c, family)))
    drift.push(...nodePortDrift(facts, view, family));
  return drift;
}

/** The endpoints (podIP . targetPort) a node's NodePort map of `family` holds for one NodePort. */
export function nodePortEndpoints(
  facts: NodeFacts,
  proto: Proto,
  nodePort: number,
  family: Family = 4,
): string[] {
  return (nftSet(facts, nodePortEndpointsMap(proto), family)?.elements ?? [])
    .filter((e) => e.key[0] === String(nodePort))
    .map((e) => endpointText(e.value?.[0] ?? "?", e.value?.[1] ?? "?"));
}

/**
 * A Service's NodePorts on one node in one family: each in `service-nodeports` and its map holding
 * exactly the Service's endpoints of the family. The subject is the node's own
 * NODE-IP:NODEPORT/PROTO of the family (what explain asks).
 */
function nodePortDrift(facts: NodeFacts, view: ServiceView, family: Family): Drift[] {
  const drift: Drift[] = [];
  const svc = serviceName(view.service);
  const table = proxyTableOf(facts.nft, family);
  const endpoints = view.endpoints.filter((e) => inFamily(e.ip, family));
  const nodeIP =
    facts.agent.nodeIPs.map((a) => canonicalIP(a) ?? a).find((a) => inFamily(a, family)) ?? facts.node;
  for (const port of view.service.ports) {
    if (port.nodePort === undefined || endpoints.length === 0) continue;
    const proto = protoOf(port);
    const subject = `${hostPort(nodeIP, port.nodePort)}/${proto}`;
    if (!setHas(nftSet(facts, NAMES.serviceNodeports, family), [proto, String(port.nodePort)]))
      drift.push({
        node: facts.node,
        kind: "missing-service",
        subject,
        problem: `its proxy table ${table} does not answer NodePort ${port.nodePort}/${proto} of Service ${svc}`,
        evidence: `map ${NAMES.serviceNodeports} has no element ${proto} . ${port.nodePort}`,
        command: `nft list map ${table} ${NAMES.serviceNodeports}`,
      });
    const map = nodePortEndpointsMap(proto);
    const have = nodePortEndpoints(facts, proto, port.nodePort, family);
    const want = endpoints.map((e) => endpointText(e.ip, port.targetPort));
    const missing = want.filter((w) => !have.includes(w));
    const stale = have.filter((h) => !want.includes(h));
    if (missing.length > 0 || stale.length > 0)
      drift.push({
        node: facts.node,
        kind: missing.length > 0 ? "missing-endpoint" : "stale-endpoint",
        subject,
        problem: `its NodePort ${port.nodePort}/${proto} of Service ${svc} ${missing.length > 0 ? `lacks endpoint(s) ${missing.join(", ")}` : ""}${missing.length > 0 && stale.length > 0 ? " and " : ""}${stale.length > 0 ? `still sends to ${stale.join(", ")}, not endpoints` : ""}`,
        evidence: `map ${map} has ${have.length} endpoint(s) for ${port.nodePort}: ${have.join(", ") || "none"}`,
        command: `nft list map ${table} ${map}`,
      });
  }
  return drift;
}

/**
 * The proxy tables a node must report: `ip podnet` always (the proxy renders it in every cluster),
 * `ip6 podnet` when the node holds an IPv6 block (the agent reads it then), each under either name.
 */
export function expectedProxyFamilies(facts: NodeFacts): Family[] {
  return facts.agent.blocks.some((b) => familyOf(b.split("/")[0] ?? b) === 6) ? [4, 6] : [4];
}

/** The ClusterIPs of no Service that a family's endpoint maps still hold. */
function staleClusterIPs(snapshot: ClusterSnapshot, facts: NodeFacts, family: Family): Drift[] {
  const drift: Drift[] = [];
  const known = new Set(
    snapshot.services.flatMap((v) => v.service.clusterIPs.map((ip) => canonicalIP(ip) ?? ip)),
  );
  for (const proto of ["tcp", "udp", "sctp"] as const) {
    const map = serviceEndpointsMap(proto);
    for (const e of nftSet(facts, map, family)?.elements ?? []) {
      const ip = canonicalIP(e.key[0] ?? "");
      if (ip === undefined || known.has(ip)) continue;
      drift.push({
        node: facts.node,
        kind: "stale-endpoint",
        subject: endpointText(e.value?.[0] ?? "?", e.value?.[1] ?? "?"),
        problem: `its proxy still maps ${hostPort(ip, e.key[1] ?? "?")}/${proto}, the ClusterIP of no Service`,
        evidence: `map ${map} has ${e.key.join(" . ")} : ${(e.value ?? []).join(" . ")}`,
        command: `nft list map ${proxyTableOf(facts.nft, family)} ${map}`,
      });
    }
  }
  return drift;
}

/** Service drift on one node: each of its proxy tables against the datastore's Services and endpoints. */
export function serviceDrift(snapshot: ClusterSnapshot, facts: NodeFacts): Drift[] {
  const drift: Drift[] = [];
  for (const family of expectedProxyFamilies(facts)) {
    if (reportedProxyTable(facts.nft, family) === undefined) {
      const table = proxyTableName(family);
      const unhooked = unhookedProxyTables(facts.nft, family);
      const why =
        unhooked.length > 0
          ? `has no live nft table: ${unhookedTablesText(unhooked)}`
          : `has no nft table ${table} (nor ${proxyTableName(family, PROXY_TABLE_NAMES[1])})`;
      drift.push({
        node: facts.node,
        kind: "nft-table-missing",
        subject: table,
        problem:
          family === 4
            ? `${why}: no Service works from or through it`
            : `${why}: no IPv6 Service address works from or through it`,
        evidence: `tables: ${facts.nft.tables.join(", ") || "none"}${unhooked.length > 0 ? `; live: ${facts.nft.liveTables?.join(", ") || "none"}` : ""}`,
        command: unhooked.length > 0 ? `nft list chains ${nftFamilyWord(family)}` : "nft list tables",
      });
      continue;
    }
    // Listed but untagged: an older agent's answer, whose IPv6 contents cannot be told apart.
    if (!reportsProxyTable(facts, family)) continue;
    drift.push(...snapshot.services.flatMap((view) => checkService(facts, view, family)));
    drift.push(...staleClusterIPs(snapshot, facts, family));
  }
  return drift;
}

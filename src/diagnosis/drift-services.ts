/**
 * Whether a node's Service proxy table agrees with the datastore (pure): every ClusterIP in
 * `cluster-ips`, every port of a Service with endpoints in `service-ips`, and exactly the Service's
 * endpoints in `service-endpoints-PROTO` (keyed `clusterIP . port . index : podIP . targetPort`).
 * Every NodePort of a Service with endpoints in `service-nodeports`, and exactly its endpoints in
 * `nodeport-endpoints-PROTO` (keyed `nodePort . index : podIP . targetPort`).
 * Only the IPv4 table `ip podnet` is read by the agents, so only IPv4 ClusterIPs are checked.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import type { Service, ServicePort } from "../k8s/service-model.ts";
import type { NftSetFact } from "../linux/kernel-facts.ts";
import { NAMES, nodePortEndpointsMap, type Proto, serviceEndpointsMap } from "../proxy/nft-names.ts";
import type { ClusterSnapshot, ServiceView } from "./cluster-snapshot.ts";
import type { Drift } from "./drift-kinds.ts";
import { canonicalIP, sameIP } from "./target.ts";

export const PROXY_TABLE = "ip podnet";

export function hasProxyTable(facts: NodeFacts): boolean {
  return facts.nft.tables.includes(PROXY_TABLE);
}

export function nftSet(facts: NodeFacts, name: string): NftSetFact | undefined {
  return facts.nft.sets.find((s) => s.name === name);
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

function isV4(ip: string): boolean {
  return canonicalIP(ip)?.includes(".") ?? false;
}

/** The endpoints (podIP . targetPort) a node's map holds for one ClusterIP and port. */
export function mapEndpoints(facts: NodeFacts, clusterIP: string, port: ServicePort): string[] {
  const map = nftSet(facts, serviceEndpointsMap(protoOf(port)));
  return (map?.elements ?? [])
    .filter((e) => sameIP(e.key[0] ?? "", clusterIP) && e.key[1] === String(port.port))
    .map((e) => `${canonicalIP(e.value?.[0] ?? "") ?? e.value?.[0] ?? "?"}:${e.value?.[1] ?? "?"}`);
}

function serviceName(s: Service): string {
  return `${s.namespace}/${s.name}`;
}

function checkService(facts: NodeFacts, view: ServiceView): Drift[] {
  const drift: Drift[] = [];
  const svc = serviceName(view.service);
  const add = (kind: Drift["kind"], subject: string, problem: string, evidence: string, command: string) =>
    drift.push({ node: facts.node, kind, subject, problem, evidence, command });
  for (const ip of view.service.clusterIPs.filter(isV4)) {
    const clusterIP = canonicalIP(ip) ?? ip;
    if (!setHas(nftSet(facts, NAMES.clusterIPs), [clusterIP])) {
      add(
        "missing-service",
        clusterIP,
        `its proxy table does not know ClusterIP ${clusterIP} of Service ${svc}`,
        `set ${NAMES.clusterIPs} has no element ${clusterIP}`,
        `nft list set ${PROXY_TABLE} ${NAMES.clusterIPs}`,
      );
    }
    const endpoints = view.endpoints.filter((e) => isV4(e.ip));
    for (const port of view.service.ports) {
      const proto = protoOf(port);
      if (
        endpoints.length > 0 &&
        !setHas(nftSet(facts, NAMES.serviceIps), [clusterIP, proto, String(port.port)])
      ) {
        add(
          "missing-service",
          `${clusterIP}:${port.port}/${proto}`,
          `its proxy table does not send ${clusterIP}:${port.port}/${proto} of Service ${svc} to its endpoints`,
          `map ${NAMES.serviceIps} has no element ${clusterIP} . ${proto} . ${port.port}`,
          `nft list map ${PROXY_TABLE} ${NAMES.serviceIps}`,
        );
      }
      const have = mapEndpoints(facts, clusterIP, port);
      const want = endpoints.map((e) => `${canonicalIP(e.ip) ?? e.ip}:${port.targetPort}`);
      const map = serviceEndpointsMap(proto);
      const command = `nft list map ${PROXY_TABLE} ${map}`;
      for (const w of want.filter((x) => !have.includes(x))) {
        const pod = endpoints.find((e) => w.startsWith(`${canonicalIP(e.ip) ?? e.ip}:`))?.pod;
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
          `map ${map} has ${clusterIP} . ${port.port} . N : ${h.replace(":", " . ")}`,
          command,
        );
      }
    }
  }
  drift.push(...nodePortDrift(facts, view));
  return drift;
}

/** The endpoints (podIP . targetPort) a node's NodePort map holds for one NodePort. */
export function nodePortEndpoints(facts: NodeFacts, proto: Proto, nodePort: number): string[] {
  return (nftSet(facts, nodePortEndpointsMap(proto))?.elements ?? [])
    .filter((e) => e.key[0] === String(nodePort))
    .map((e) => `${canonicalIP(e.value?.[0] ?? "") ?? e.value?.[0] ?? "?"}:${e.value?.[1] ?? "?"}`);
}

/**
 * A Service's NodePorts on one node: each in `service-nodeports` and its map holding exactly the
 * Service's endpoints. The subject is the node's own NODE-IP:NODEPORT/PROTO (what explain asks).
 */
function nodePortDrift(facts: NodeFacts, view: ServiceView): Drift[] {
  const drift: Drift[] = [];
  const svc = serviceName(view.service);
  const endpoints = view.endpoints.filter((e) => isV4(e.ip));
  const nodeIP = facts.agent.nodeIPs.map((a) => canonicalIP(a) ?? a).find(isV4) ?? facts.node;
  for (const port of view.service.ports) {
    if (port.nodePort === undefined || endpoints.length === 0) continue;
    const proto = protoOf(port);
    const subject = `${nodeIP}:${port.nodePort}/${proto}`;
    if (!setHas(nftSet(facts, NAMES.serviceNodeports), [proto, String(port.nodePort)]))
      drift.push({
        node: facts.node,
        kind: "missing-service",
        subject,
        problem: `its proxy table does not answer NodePort ${port.nodePort}/${proto} of Service ${svc}`,
        evidence: `map ${NAMES.serviceNodeports} has no element ${proto} . ${port.nodePort}`,
        command: `nft list map ${PROXY_TABLE} ${NAMES.serviceNodeports}`,
      });
    const map = nodePortEndpointsMap(proto);
    const have = nodePortEndpoints(facts, proto, port.nodePort);
    const want = endpoints.map((e) => `${canonicalIP(e.ip) ?? e.ip}:${port.targetPort}`);
    const missing = want.filter((w) => !have.includes(w));
    const stale = have.filter((h) => !want.includes(h));
    if (missing.length > 0 || stale.length > 0)
      drift.push({
        node: facts.node,
        kind: missing.length > 0 ? "missing-endpoint" : "stale-endpoint",
        subject,
        problem: `its NodePort ${port.nodePort}/${proto} of Service ${svc} ${missing.length > 0 ? `lacks endpoint(s) ${missing.join(", ")}` : ""}${missing.length > 0 && stale.length > 0 ? " and " : ""}${stale.length > 0 ? `still sends to ${stale.join(", ")}, not endpoints` : ""}`,
        evidence: `map ${map} has ${have.length} endpoint(s) for ${port.nodePort}: ${have.join(", ") || "none"}`,
        command: `nft list map ${PROXY_TABLE} ${map}`,
      });
  }
  return drift;
}

/** Service drift on one node: its proxy table against the datastore's Services and endpoints. */
export function serviceDrift(snapshot: ClusterSnapshot, facts: NodeFacts): Drift[] {
  if (!hasProxyTable(facts)) {
    return [
      {
        node: facts.node,
        kind: "nft-table-missing",
        subject: PROXY_TABLE,
        problem: `has no nft table ${PROXY_TABLE}: no Service works from or through it`,
        evidence: `tables: ${facts.nft.tables.join(", ") || "none"}`,
        command: "nft list tables",
      },
    ];
  }
  const drift = snapshot.services.flatMap((view) => checkService(facts, view));
  const known = new Set(
    snapshot.services.flatMap((v) => v.service.clusterIPs.map((ip) => canonicalIP(ip) ?? ip)),
  );
  for (const proto of ["tcp", "udp", "sctp"] as const) {
    const map = serviceEndpointsMap(proto);
    for (const e of nftSet(facts, map)?.elements ?? []) {
      const ip = canonicalIP(e.key[0] ?? "");
      if (ip === undefined || known.has(ip)) continue;
      drift.push({
        node: facts.node,
        kind: "stale-endpoint",
        subject: `${e.value?.[0] ?? "?"}:${e.value?.[1] ?? "?"}`,
        problem: `its proxy still maps ${ip}:${e.key[1] ?? "?"}/${proto}, the ClusterIP of no Service`,
        evidence: `map ${map} has ${e.key.join(" . ")} : ${(e.value ?? []).join(" . ")}`,
        command: `nft list map ${PROXY_TABLE} ${map}`,
      });
    }
  }
  return drift;
}

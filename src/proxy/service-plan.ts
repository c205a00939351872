/**
 * From a Service and its endpoints to what one family's table renders (pure): the ClusterIP of
 * the family, valid endpoints of the family, and the ports this Service really gets — a port
 * another Service already has on the same ClusterIP, or a NodePort already taken, is reported
 * and skipped rather than letting one bad record break the whole transaction.
 */
import type { Endpoint, Service, ServicePort } from "../k8s/service-model.ts";
import { isHeadless, serviceKey } from "../k8s/service-model.ts";
import type { AddressCanonicalizer } from "./addresses.ts";
import type { RenderProblem } from "./nft-model.ts";
import { type ClaimedPort, type FamilyService, nodePortKey, serviceIpKey } from "./service-rules.ts";

/**
 * Everything the rendering of a Service depends on, as one string: equal fingerprints render
 * equal output, which lets the next render reuse this one's chains.
 */
export function inputFingerprint(
  service: Service,
  endpoints: readonly Endpoint[],
  nodeName: string | undefined,
): string {
  const a = service.sessionAffinity;
  const ports = service.ports.map((p) => `${p.protocol}/${p.port}/${p.targetPort}/${p.nodePort ?? ""}`);
  const ips = endpoints.map((e) => (isLocal(e, nodeName) ? `${e.ip}*` : e.ip));
  const headless = isHeadless(service) ? "headless" : "";
  return `${headless}|${service.clusterIPs.join(",")}|${a.kind === "ClientIP" ? a.timeoutSeconds : ""}|${ports.join(",")}|${ips.join(",")}`;
}

/** Whether an endpoint runs on this node (every endpoint counts as local when the node is not named). */
function isLocal(endpoint: Endpoint, nodeName: string | undefined): boolean {
  return nodeName === undefined || endpoint.node === nodeName;
}

/**
 * The Service as the table of the canonicalizer's family sees it; undefined when it has no
 * ClusterIP there — always for a headless Service, which has no ClusterIP to DNAT from (its
 * clients reach the pods directly, by the addresses DNS gives them).
 */
export function resolveService(
  addresses: AddressCanonicalizer,
  service: Service,
  endpoints: readonly Endpoint[],
  problems: RenderProblem[],
  nodeName?: string,
): FamilyService | undefined {
  if (isHeadless(service)) return undefined;
  const key = serviceKey(service);
  let clusterIP: string | undefined;
  for (const text of service.clusterIPs) {
    const ip = addresses.check(text);
    if (ip === undefined) {
      problems.push({
        kind: "invalid-cluster-ip",
        subject: key,
        message: `Service "${key}": ClusterIP "${text}" is not an IP address; it is skipped`,
      });
    } else if (ip !== "other-family" && clusterIP === undefined) {
      clusterIP = ip;
    }
  }
  if (clusterIP === undefined) return undefined;
  const affinity = service.sessionAffinity;
  if (
    affinity.kind === "ClientIP" &&
    !(Number.isInteger(affinity.timeoutSeconds) && affinity.timeoutSeconds >= 1)
  ) {
    problems.push({
      kind: "invalid-affinity-timeout",
      subject: key,
      message: `Service "${key}": ClientIP affinity timeout ${affinity.timeoutSeconds} is not a whole number of seconds ≥ 1; the Service is skipped`,
    });
    return undefined;
  }
  const ips = new Set<string>();
  const local = new Set<string>();
  for (const endpoint of endpoints) {
    const ip = addresses.check(endpoint.ip);
    if (ip === undefined) {
      problems.push({
        kind: "invalid-endpoint-ip",
        subject: key,
        message: `Service "${key}": endpoint "${endpoint.ip}" of pod "${endpoint.pod}" is not an IP address; it is skipped`,
      });
    } else if (ip !== "other-family") {
      ips.add(ip);
      if (isLocal(endpoint, nodeName)) local.add(ip);
    }
  }
  return {
    key,
    clusterIP,
    affinitySeconds: affinity.kind === "ClientIP" ? affinity.timeoutSeconds : undefined,
    // Sorted so an endpoint's place among the picking rules depends on the set, not list order.
    endpointIPs: [...ips].sort(),
    localEndpointIPs: [...local].sort(),
  };
}

/** Who has a key: a Map, or (proxy-state.ts) a view of the claimants that sort before a Service. */
export interface OwnerTable {
  get(key: string): string | undefined;
  set(key: string, owner: string): void;
}

/** Who already has what, across the Services rendered so far. */
export interface PortOwners {
  /** `ClusterIP . proto . port` → Service. */
  readonly ports: OwnerTable;
  /** `proto . nodePort` → Service. */
  readonly nodePorts: OwnerTable;
}

export interface Claims {
  readonly ports: readonly ClaimedPort[];
  /** The claimed ports as one string, to tell whether a cached rendering still applies. */
  readonly key: string;
}

const validPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;

function portProblem(svc: FamilyService, port: ServicePort): string | undefined {
  const fields: [string, number | undefined][] = [
    ["port", port.port],
    ["targetPort", port.targetPort],
    ["nodePort", port.nodePort],
  ];
  const bad = fields.find(
    ([field, n]) => (n !== undefined || field !== "nodePort") && !validPort(n ?? Number.NaN),
  );
  if (bad === undefined) return undefined;
  return `Service "${svc.key}": ${bad[0]} ${String(bad[1])} of port ${port.protocol}/${port.port} is not a port from 1 to 65535; the port is skipped`;
}

/** The ports of `svc` it really gets, in (protocol, port) order; conflicts become problems. */
export function claimPorts(
  svc: FamilyService,
  ports: readonly ServicePort[],
  owners: PortOwners,
  problems: RenderProblem[],
): Claims {
  const sorted = [...ports].sort((a, b) =>
    a.protocol !== b.protocol ? (a.protocol < b.protocol ? -1 : 1) : a.port - b.port,
  );
  const claimed: ClaimedPort[] = [];
  const keyParts: string[] = [];
  for (const port of sorted) {
    const invalid = portProblem(svc, port);
    if (invalid !== undefined) {
      problems.push({ kind: "invalid-port", subject: svc.key, message: invalid });
      continue;
    }
    const ipKey = serviceIpKey(svc.clusterIP, port.protocol, port.port);
    const owner = owners.ports.get(ipKey);
    if (owner !== undefined) {
      problems.push({
        kind: "duplicate-service-port",
        subject: svc.key,
        message: `Service "${svc.key}": port ${port.protocol}/${port.port} on ${svc.clusterIP} is already used by "${owner}"; the port is skipped`,
      });
      continue;
    }
    owners.ports.set(ipKey, svc.key);
    let nodePort: number | undefined;
    if (port.nodePort !== undefined) {
      const npKey = nodePortKey(port.protocol, port.nodePort);
      const npOwner = owners.nodePorts.get(npKey);
      if (npOwner === undefined) {
        owners.nodePorts.set(npKey, svc.key);
        nodePort = port.nodePort;
      } else {
        problems.push({
          kind: "duplicate-node-port",
          subject: svc.key,
          message: `Service "${svc.key}": NodePort ${port.nodePort}/${port.protocol} is already used by "${npOwner}"; the NodePort is skipped`,
        });
      }
    }
    const base = { protocol: port.protocol, port: port.port, targetPort: port.targetPort };
    claimed.push(nodePort === undefined ? base : { ...base, nodePort });
    keyParts.push(`${port.protocol}/${port.port}/${port.targetPort}/${nodePort ?? ""}`);
  }
  return { ports: claimed, key: keyParts.join(",") };
}

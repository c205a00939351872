/**
 * The records one Service puts into the cluster zone (pure), after the Kubernetes DNS-based
 * service discovery specification 1.1.0:
 * - NAME.NS.svc.ZONE: A/AAAA of each ClusterIP, or of each ready endpoint for a headless Service
 *   (no ClusterIP; with no ready endpoint the name does not exist); endpoint addresses count only
 *   in the Service's families (`ipFamilies`: a SingleStack IPv4 headless Service has no AAAA);
 * - HOSTNAME.NAME.NS.svc.ZONE for each endpoint of a headless Service; the hostname is the pod's
 *   name when it is a DNS label (as CoreDNS `endpoint_pod_names`), else the dashed IP;
 * - _PORT._PROTO.NAME.NS.svc.ZONE SRV for each named port (unnamed ports have none): the Service
 *   name and port, or each headless endpoint and its target port;
 * - PTR of each ClusterIP to NAME.NS.svc.ZONE, and of each headless endpoint to its hostname name.
 * Beyond the spec, so that every pod address behind a Service answers PTR and the name it answers
 * resolves back: DASHED-IP.NS.pod.ZONE A/AAAA for every endpoint, and the PTR of an endpoint of a
 * Service with a ClusterIP points there (CoreDNS `pods verified` names).
 */
import type { SoaData, SrvData } from "dns-packet";
import { tryParseIP } from "../ipnet/address.ts";
import type { Endpoint, Service } from "../k8s/service-model.ts";
import { ofServiceFamilies } from "../k8s/service-model.ts";
import { dashedIP, reverseName } from "./dns-name.ts";

export type ZoneRecord =
  | { readonly type: "A" | "AAAA" | "PTR" | "TXT"; readonly data: string }
  | { readonly type: "SRV"; readonly data: SrvData }
  | { readonly type: "SOA"; readonly data: SoaData };

/** Records by owner name (a lookup key: lowercase, no trailing dot). */
export type RecordsByName = Map<string, ZoneRecord[]>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 2782 leaves priority and weight to the zone; equal weights share the load evenly. */
const SRV_PRIORITY = 0;
const SRV_WEIGHT = 100;

/** A record's identity: two sources (Services) giving the same one answer it once. */
export function recordKey(r: ZoneRecord): string {
  return typeof r.data === "string" ? `${r.type} ${r.data}` : `${r.type} ${JSON.stringify(r.data)}`;
}

/** Builds records by name without duplicates (a pod backing a Service through two ports, …). */
class RecordSet {
  readonly byName: RecordsByName = new Map();
  private readonly seen = new Set<string>();

  add(name: string, record: ZoneRecord): void {
    const key = `${name}\n${recordKey(record)}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const list = this.byName.get(name);
    if (list === undefined) this.byName.set(name, [record]);
    else list.push(record);
  }
}

function address(ip: string): ZoneRecord | undefined {
  const parsed = tryParseIP(ip);
  if (parsed === undefined) return undefined;
  return { type: parsed.family === 4 ? "A" : "AAAA", data: ip };
}

/** The hostname of an endpoint under a headless Service: the pod's name, or its dashed IP. */
export function endpointHostname(endpoint: Endpoint): string {
  const podName = endpoint.pod.slice(endpoint.pod.indexOf("/") + 1).toLowerCase();
  if (DNS_LABEL.test(podName)) return podName;
  const ip = tryParseIP(endpoint.ip);
  return ip === undefined ? podName : dashedIP(ip);
}

export function serviceName(service: Service, domain: string): string {
  return `${service.name}.${service.namespace}.svc.${domain}`.toLowerCase();
}

/** Every record that `service` with these (ready) endpoints contributes to the zone `domain`. */
export function serviceRecords(
  service: Service,
  endpoints: readonly Endpoint[],
  domain: string,
): RecordsByName {
  const out = new RecordSet();
  const base = serviceName(service, domain);
  const headless = service.clusterIPs.length === 0;
  const named = service.ports.filter((p) => p.name !== undefined && p.name !== "");
  const srvName = (p: Service["ports"][number]) => `_${p.name}._${p.protocol}.${base}`.toLowerCase();

  if (!headless) {
    for (const ip of service.clusterIPs) {
      const rr = address(ip);
      const parsed = tryParseIP(ip);
      if (rr === undefined || parsed === undefined) continue;
      out.add(base, rr);
      out.add(reverseName(parsed), { type: "PTR", data: base });
    }
    for (const p of named)
      out.add(srvName(p), {
        type: "SRV",
        data: { priority: SRV_PRIORITY, weight: SRV_WEIGHT, port: p.port, target: base },
      });
  }

  const unique = [...new Map(ofServiceFamilies(service, endpoints).map((e) => [e.ip, e])).values()];
  // One SRV target per pod (a dual-stack pod has two addresses under one hostname).
  const targets = new Set(unique.map(endpointHostname)).size;
  const weight = Math.max(1, Math.floor(SRV_WEIGHT / Math.max(1, targets)));
  for (const endpoint of unique) {
    const rr = address(endpoint.ip);
    const parsed = tryParseIP(endpoint.ip);
    if (rr === undefined || parsed === undefined) continue;
    const podName = `${dashedIP(parsed)}.${service.namespace}.pod.${domain}`.toLowerCase();
    out.add(podName, rr);
    if (!headless) {
      out.add(reverseName(parsed), { type: "PTR", data: podName });
      continue;
    }
    const host = `${endpointHostname(endpoint)}.${base}`;
    out.add(base, rr);
    out.add(host, rr);
    out.add(reverseName(parsed), { type: "PTR", data: host });
    for (const p of named)
      out.add(srvName(p), {
        type: "SRV",
        data: { priority: SRV_PRIORITY, weight, port: p.targetPort, target: host },
      });
  }
  return out.byName;
}

/**
 * How a Service is kept in the datastore: JSON at `/podnet/services/NAMESPACE/NAME`. Records are
 * validated when read, with the same checks as on creation, so the proxy never programs a
 * half-understood Service.
 */
import { tryParseIP } from "../ipnet/address.ts";
import type { Service, ServicePort } from "../k8s/service-model.ts";
import { ROOT } from "./keys.ts";
import { InvalidServiceRecordError, ServiceValidationError } from "./service-errors.ts";
import { planAffinity, planIdentity, planPorts, planSelector } from "./service-validation.ts";

export const SERVICES_PREFIX = `${ROOT}/services/`;

export function serviceRecordKey(namespace: string, name: string): string {
  return `${SERVICES_PREFIX}${namespace}/${name}`;
}

/** The namespace and name a Service key stands for, or undefined for a key of another shape. */
export function serviceIdFromKey(key: string): { namespace: string; name: string } | undefined {
  if (!key.startsWith(SERVICES_PREFIX)) return undefined;
  const parts = key.slice(SERVICES_PREFIX.length).split("/");
  const [namespace, name] = parts;
  return parts.length === 2 && namespace && name ? { namespace, name } : undefined;
}

export function encodeService(s: Service): string {
  return JSON.stringify({
    namespace: s.namespace,
    name: s.name,
    clusterIPs: s.clusterIPs,
    ports: s.ports,
    sessionAffinity: s.sessionAffinity,
    selector: s.selector,
  });
}

export function parseServiceRecord(key: string, text: string): Service {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidServiceRecordError(key, "is not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new InvalidServiceRecordError(key, "is not a JSON object");
  const r = raw as Record<string, unknown>;
  const id = `${String(r.namespace)}/${String(r.name)}`;
  try {
    planIdentity(id, r.namespace, r.name);
    const namespace = r.namespace as string;
    const name = r.name as string;
    if (key !== serviceRecordKey(namespace, name))
      throw new InvalidServiceRecordError(key, `holds Service "${id}", which belongs under another key`);
    if (
      !Array.isArray(r.clusterIPs) ||
      r.clusterIPs.length === 0 ||
      r.clusterIPs.some((ip) => typeof ip !== "string" || tryParseIP(ip) === undefined)
    )
      throw new InvalidServiceRecordError(key, "clusterIPs must be a non-empty list of addresses");
    const ports = planPorts(id, r.ports).map((p, i): ServicePort => {
      const { nodePort, ...rest } = p;
      if (nodePort === "auto")
        throw new InvalidServiceRecordError(key, `ports[${i}].nodePort is "auto", never allocated`);
      return nodePort === undefined ? rest : { ...rest, nodePort };
    });
    return {
      namespace,
      name,
      clusterIPs: r.clusterIPs as string[],
      ports,
      sessionAffinity: planAffinity(id, r.sessionAffinity),
      selector: planSelector(id, r.selector),
    };
  } catch (e) {
    if (e instanceof ServiceValidationError)
      throw new InvalidServiceRecordError(key, `${e.field} ${e.reason}`);
    throw e;
  }
}

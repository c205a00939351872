/**
 * How a Service is kept in the datastore: JSON at `/podnet/services/NAMESPACE/NAME`. Records are
 * validated when read, with the same checks as on creation, so the proxy never programs a
 * half-understood Service.
 *
 * A headless Service is `"headless": true` with `"clusterIPs": []` — said outright, so a record
 * that lost its addresses is refused rather than taken for a headless one. Records without the
 * field (all written before headless Services existed) are ClusterIP Services as before.
 *
 * `ipFamilies` and `ipFamilyPolicy` are written together by every create. Records written before
 * Services had families have neither and are read as they are (`serviceFamilies` and
 * `serviceIpFamilyPolicy` derive them); an older reader ignores the two fields.
 */
import { tryParseIP } from "../ipnet/address.ts";
import type { IPFamily, IPFamilyPolicy, Service, ServicePort } from "../k8s/service-model.ts";
import { ipFamilyOf, isIPFamily, isIPFamilyPolicy } from "../k8s/service-model.ts";
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
    ...(s.headless === true ? { headless: true } : {}),
    clusterIPs: s.clusterIPs,
    ...(s.ipFamilies !== undefined ? { ipFamilies: s.ipFamilies } : {}),
    ...(s.ipFamilyPolicy !== undefined ? { ipFamilyPolicy: s.ipFamilyPolicy } : {}),
    ports: s.ports,
    sessionAffinity: s.sessionAffinity,
    selector: s.selector,
  });
}

/** The record's families, checked against its ClusterIPs and policy; undefined for an older record. */
function recordFamilies(
  key: string,
  r: Record<string, unknown>,
  headless: boolean,
): { ipFamilies: IPFamily[]; ipFamilyPolicy: IPFamilyPolicy } | undefined {
  if (r.ipFamilies === undefined && r.ipFamilyPolicy === undefined) return undefined;
  const bad = (reason: string) => new InvalidServiceRecordError(key, reason);
  if (!isIPFamilyPolicy(r.ipFamilyPolicy))
    throw bad(
      `ipFamilyPolicy is ${JSON.stringify(r.ipFamilyPolicy)}: SingleStack, PreferDualStack or RequireDualStack`,
    );
  const families = r.ipFamilies;
  if (
    !Array.isArray(families) ||
    families.length < 1 ||
    families.length > 2 ||
    !families.every(isIPFamily) ||
    new Set(families).size !== families.length
  )
    throw bad(`ipFamilies is ${JSON.stringify(families)}: one or two of IPv4, IPv6, each once`);
  const policy = r.ipFamilyPolicy;
  if (
    (policy === "SingleStack" && families.length !== 1) ||
    (policy === "RequireDualStack" && families.length !== 2)
  )
    throw bad(`ipFamilies ${families.join(",")} do not fit ipFamilyPolicy ${policy}`);
  const ips = r.clusterIPs as string[];
  if (!headless && (ips.length !== families.length || ips.some((ip, i) => ipFamilyOf(ip) !== families[i])))
    throw bad(
      `clusterIPs ${ips.join(",")} are not one per family of ipFamilies ${families.join(",")}, in order`,
    );
  return { ipFamilies: families, ipFamilyPolicy: policy };
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
    if (r.headless !== undefined && r.headless !== true)
      throw new InvalidServiceRecordError(
        key,
        `headless is ${JSON.stringify(r.headless)}: it is true or left out`,
      );
    const headless = r.headless === true;
    if (headless) {
      if (!Array.isArray(r.clusterIPs) || r.clusterIPs.length > 0)
        throw new InvalidServiceRecordError(key, "clusterIPs of a headless Service must be an empty list");
    } else if (
      !Array.isArray(r.clusterIPs) ||
      r.clusterIPs.length === 0 ||
      r.clusterIPs.some((ip) => typeof ip !== "string" || tryParseIP(ip) === undefined)
    )
      throw new InvalidServiceRecordError(key, "clusterIPs must be a non-empty list of addresses");
    const families = recordFamilies(key, r, headless);
    const ports = planPorts(id, r.ports, headless).map((p, i): ServicePort => {
      const { nodePort, ...rest } = p;
      if (nodePort === "auto")
        throw new InvalidServiceRecordError(key, `ports[${i}].nodePort is "auto", never allocated`);
      return nodePort === undefined ? rest : { ...rest, nodePort };
    });
    return {
      namespace,
      name,
      ...(headless ? { headless: true as const } : {}),
      clusterIPs: r.clusterIPs as string[],
      ...(families ?? {}),
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

/**
 * Which address families a new Service gets, after Kubernetes (KEP-563, and the API server's
 * defaulting of `ipFamilyPolicy` and `ipFamilies`). Pure.
 *
 * - No policy: SingleStack, unless two `ipFamilies` or two `clusterIPs` are given
 *   (RequireDualStack), or the Service is headless without a selector (RequireDualStack: it
 *   allocates nothing, so it may name both families on any cluster).
 * - SingleStack: one family, the one given, else the cluster's first service CIDR's.
 * - PreferDualStack: both families on a dual-stack cluster, one otherwise.
 * - RequireDualStack: both families; refused on a single-stack cluster.
 * - `ipFamilies[i]` is the family of `clusterIPs[i]`; the first family is the primary one.
 *
 * The planned ClusterIPs follow the Service's family order, not the cluster's.
 */
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { serviceCidrOf } from "../ipam/cluster-config.ts";
import { serviceIPProblem } from "../ipam/service-ip-allocator.ts";
import type { Family, IPAddress } from "../ipnet/address.ts";
import { tryParseIP } from "../ipnet/address.ts";
import type { IPFamily, IPFamilyPolicy } from "../k8s/service-model.ts";
import {
  IP_FAMILIES,
  IP_FAMILY_POLICIES,
  ipFamilyName,
  ipFamilyNumber,
  isIPFamily,
  isIPFamilyPolicy,
} from "../k8s/service-model.ts";
import { ServiceValidationError } from "./service-errors.ts";

export interface PlannedClusterIP {
  readonly family: Family;
  readonly requested?: IPAddress;
}

export interface PlannedFamilies {
  /** Primary first. */
  readonly ipFamilies: readonly IPFamily[];
  readonly ipFamilyPolicy: IPFamilyPolicy;
  /** One per family, in `ipFamilies` order; empty for a headless Service. */
  readonly clusterIPs: readonly PlannedClusterIP[];
}

export interface FamilyRequest {
  readonly ipFamilyPolicy?: unknown;
  readonly ipFamilies?: unknown;
  readonly clusterIPs?: unknown;
  readonly headless: boolean;
  readonly selector: Readonly<Record<string, string>>;
}

const show = (v: unknown) => (typeof v === "string" ? JSON.stringify(v) : String(v));
const other = (f: IPFamily): IPFamily => (f === "IPv4" ? "IPv6" : "IPv4");

function requestedPolicy(service: string, policy: unknown): IPFamilyPolicy | undefined {
  if (policy === undefined || isIPFamilyPolicy(policy)) return policy;
  throw new ServiceValidationError(
    service,
    "ipFamilyPolicy",
    `is ${show(policy)}: use ${IP_FAMILY_POLICIES.join(", ")}`,
  );
}

function requestedFamilies(service: string, families: unknown): IPFamily[] {
  if (families === undefined) return [];
  if (!Array.isArray(families))
    throw new ServiceValidationError(service, "ipFamilies", `must be a list of ${IP_FAMILIES.join(" or ")}`);
  if (families.length > 2)
    throw new ServiceValidationError(service, "ipFamilies", `lists ${families.length} families: at most 2`);
  const out: IPFamily[] = [];
  families.forEach((f: unknown, i) => {
    if (!isIPFamily(f))
      throw new ServiceValidationError(service, `ipFamilies[${i}]`, `is ${show(f)}: use IPv4 or IPv6`);
    if (out.includes(f))
      throw new ServiceValidationError(service, `ipFamilies[${i}]`, `is ${f} again: list a family once`);
    out.push(f);
  });
  return out;
}

/** The requested ClusterIPs in the order given: addresses inside a service CIDR, one per family. */
function requestedClusterIPs(service: string, config: ClusterConfig, requested: unknown): IPAddress[] {
  if (requested === undefined) return [];
  if (!Array.isArray(requested))
    throw new ServiceValidationError(service, "clusterIPs", "must be a list of addresses");
  const out: IPAddress[] = [];
  requested.forEach((text: unknown, i) => {
    const field = `clusterIPs[${i}]`;
    const ip = typeof text === "string" ? tryParseIP(text) : undefined;
    if (ip === undefined)
      throw new ServiceValidationError(service, field, `is ${show(text)}: not an IP address`);
    const cidr = serviceCidrOf(config, ip.family);
    if (cidr === undefined)
      throw new ServiceValidationError(
        service,
        field,
        `is IPv${ip.family}, but the cluster has no IPv${ip.family} service CIDR`,
      );
    const problem = serviceIPProblem(cidr, ip);
    if (problem !== undefined) throw new ServiceValidationError(service, field, `${show(text)} ${problem}`);
    if (out.some((o) => o.family === ip.family))
      throw new ServiceValidationError(
        service,
        field,
        `is a second IPv${ip.family} address: give at most one per family`,
      );
    out.push(ip);
  });
  return out;
}

/** Resolves the Service's families and the ClusterIPs to claim (see the file comment). */
export function planFamilies(
  service: string,
  config: ClusterConfig,
  request: FamilyRequest,
): PlannedFamilies {
  const { headless } = request;
  const policy = requestedPolicy(service, request.ipFamilyPolicy);
  const families = requestedFamilies(service, request.ipFamilies);
  const clusterFamilies = config.serviceCidrs.map((c) => ipFamilyName(c.family));
  if (!headless && clusterFamilies.length === 0)
    throw new ServiceValidationError(
      service,
      "clusterIPs",
      "cannot be allocated: the cluster has no service CIDR",
    );
  const ips = headless ? [] : requestedClusterIPs(service, config, request.clusterIPs);
  ips.forEach((ip, i) => {
    const family = families[i];
    if (family !== undefined && family !== ipFamilyName(ip.family))
      throw new ServiceValidationError(
        service,
        `ipFamilies[${i}]`,
        `is ${family}, but clusterIPs[${i}] is IPv${ip.family}: the two lists must be in the same order`,
      );
    if (family === undefined) families.push(ipFamilyName(ip.family));
  });
  // Nothing is allocated for it, so it is not held to the cluster's families (as in Kubernetes).
  const free = headless && Object.keys(request.selector).length === 0;
  const resolved: IPFamilyPolicy =
    policy ?? (families.length === 2 || free ? "RequireDualStack" : "SingleStack");
  if (resolved === "SingleStack" && families.length === 2)
    throw new ServiceValidationError(
      service,
      "ipFamilyPolicy",
      `is SingleStack, but two families are asked for (${families.join(", ")}): use PreferDualStack or RequireDualStack`,
    );
  if (!free) {
    families.forEach((f, i) => {
      if (!clusterFamilies.includes(f))
        throw new ServiceValidationError(
          service,
          `ipFamilies[${i}]`,
          `is ${f}, but the cluster has no ${f} service CIDR`,
        );
    });
    if (resolved === "RequireDualStack" && clusterFamilies.length < 2)
      throw new ServiceValidationError(
        service,
        "ipFamilyPolicy",
        `is RequireDualStack, but the cluster has no ${other(clusterFamilies[0] ?? "IPv6")} service CIDR`,
      );
  }
  const primary = families[0] ?? clusterFamilies[0] ?? "IPv4";
  const out: IPFamily[] = [primary, ...families.slice(1)];
  const dualCluster = free || clusterFamilies.length === 2;
  if (out.length === 1 && resolved !== "SingleStack" && dualCluster) out.push(other(primary));
  return {
    ipFamilies: out,
    ipFamilyPolicy: resolved,
    clusterIPs: headless
      ? []
      : out.map((f) => {
          const ip = ips.find((a) => ipFamilyName(a.family) === f);
          return ip === undefined
            ? { family: ipFamilyNumber(f) }
            : { family: ipFamilyNumber(f), requested: ip };
        }),
  };
}

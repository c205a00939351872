/**
 * The `dns` of an ADD result (CNI result "dns"): what the network config gives, and, when the
 * node agent named its cluster domain in the conflist (`clusterDomain`), the pod's own
 * namespace first in the search path, as kubelet's ClusterFirst policy writes a pod's
 * resolv.conf: `search NS.svc.DOMAIN svc.DOMAIN DOMAIN`, `options ndots:5` (the conflist carries
 * the node-wide part; only the namespace differs from pod to pod). Runtimes under kubelet ignore
 * this field and kubelet writes the same file itself; the lab and other runtimes use it.
 */
import { clusterDomainProblem } from "../cni/cluster-dns.ts";
import { CniError, ErrorCode } from "../cni/errors.ts";
import type { NetConf } from "../cni/netconf.ts";
import type { DNS } from "../cni/result.ts";
import { namespaceProblem } from "../k8s/names.ts";

/** kubelet's limit (validation.MaxDNSSearchPaths): glibc 2.26 and later read that many. */
export const MAX_SEARCH = 32;

/** The cluster domain the conflist names, or undefined; code 7 when it is not a DNS name. */
export function clusterDomainOf(netconf: NetConf): string | undefined {
  const domain = netconf.raw.clusterDomain;
  if (domain === undefined || domain === null) return undefined;
  if (typeof domain !== "string")
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `clusterDomain must be a string, got ${typeof domain}`,
    );
  const problem = clusterDomainProblem(domain);
  if (problem !== undefined) throw new CniError(ErrorCode.InvalidNetworkConfig, `clusterDomain ${problem}`);
  return domain;
}

/**
 * The pod's DNS configuration, or undefined when the network config has none. `namespace` is
 * the pod's Kubernetes namespace (K8S_POD_NAMESPACE, "default" without it); code 4 when it is not
 * a DNS label, since it becomes one.
 */
export function podDns(netconf: NetConf, namespace: string): DNS | undefined {
  const base = netconf.dns;
  const domain = clusterDomainOf(netconf);
  if (domain === undefined) return base;
  const problem = namespaceProblem(namespace);
  if (problem !== undefined)
    throw new CniError(ErrorCode.InvalidEnvironment, `Invalid CNI_ARGS: K8S_POD_NAMESPACE ${problem}`);
  const own = [`${namespace}.svc.${domain}`, `svc.${domain}`, domain];
  const rest = (base?.search ?? []).filter((s) => !own.includes(s));
  return { ...base, search: [...own, ...rest].slice(0, MAX_SEARCH) };
}

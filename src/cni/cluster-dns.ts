/**
 * The cluster DNS part of the node's conflist (pure): the node-local nameserver and the cluster
 * domain the agent names, and the `dns` block they become — kubelet's ClusterFirst resolv.conf
 * without the pod's namespace, which the plugin puts first (plugin/pod-dns.ts).
 */
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { invalid, type ShapeContext } from "./shape.ts";

export interface ClusterDnsConfig {
  /** The node-local DNS address(es) pods query. */
  nameservers: string[];
  /** The cluster domain, e.g. "cluster.local". */
  domain: string;
}

/** kubelet's ClusterFirst resolv.conf: names with fewer dots are tried under the search path first. */
export const CLUSTER_DNS_OPTIONS: readonly string[] = ["ndots:5"];

const DOMAIN_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Why `text` cannot be a cluster domain, or undefined: lowercase DNS labels of at most 63
 * characters joined by ".", at most 253 characters (RFC 1035 §2.3.4), no trailing dot, and a
 * last label that is not all digits (RFC 3696 §2: it would read as an address).
 */
export function clusterDomainProblem(text: string): string | undefined {
  if (text === "") return "must not be empty";
  if (text.length > 253) return `${JSON.stringify(text)} is longer than 253 characters`;
  const labels = text.split(".");
  if (!labels.every((l) => DOMAIN_LABEL.test(l)))
    return `${JSON.stringify(text)} is not a DNS name (lowercase labels of letters, digits and '-', separated by '.')`;
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? ""))
    return `${JSON.stringify(text)} ends in a label of digits`;
  return undefined;
}

/** The conflist's `dns` for a node: the search path without the pod's namespace (the plugin adds it). */
export function clusterDnsBlock(c: ClusterDnsConfig): {
  nameservers: string[];
  search: string[];
  options: string[];
} {
  return {
    nameservers: [...c.nameservers],
    search: [`svc.${c.domain}`, c.domain],
    options: [...CLUSTER_DNS_OPTIONS],
  };
}

/** The config checked and written canonically; errors are code 7 in `ctx`. */
export function parseClusterDns(c: ClusterDnsConfig, ctx: ShapeContext): ClusterDnsConfig {
  const problem = clusterDomainProblem(c.domain);
  if (problem !== undefined) throw invalid(ctx, `cluster domain ${problem}`);
  if (c.nameservers.length === 0) throw invalid(ctx, "cluster DNS needs a nameserver");
  // glibc reads at most 3 nameservers (MAXNS); more would be ignored without a word.
  if (c.nameservers.length > 3) throw invalid(ctx, "cluster DNS takes at most 3 nameservers");
  const nameservers = c.nameservers.map((text) => {
    const ip = tryParseIP(text);
    if (ip === undefined) throw invalid(ctx, `DNS nameserver ${JSON.stringify(text)} is not an IP address`);
    return formatIP(ip);
  });
  return { nameservers, domain: c.domain };
}

/**
 * A pod's resolv.conf from the `dns` of its CNI ADD result (pure), as a runtime that honours the
 * result would write it (kubelet writes its own for Kubernetes pods; the lab is such a runtime).
 * The result comes from the plugin, an external input: every value is checked before it becomes
 * a line of a file glibc reads.
 */
import { tryParseIP } from "../ipnet/address.ts";

export interface PodDns {
  readonly nameservers: readonly string[];
  readonly search: readonly string[];
  readonly options: readonly string[];
}

export class ResolvConfError extends Error {
  override readonly name = "ResolvConfError";
}

/** A domain name: labels of letters, digits, "-" and "_" (as in search lists), at most 253 chars. */
const DOMAIN =
  /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
/** resolv.conf(5) options: `ndots:5`, `timeout:1`, `edns0`, `single-request`, … */
const OPTION = /^[a-z][a-z0-9-]{0,31}(:[0-9]{1,4})?$/;
/** glibc reads at most 3 nameservers and (since 2.26) any number of search domains; kubelet caps them at 32. */
const MAX_NAMESERVERS = 3;
const MAX_SEARCH = 32;

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    throw new ResolvConfError(`the CNI result's "dns.${field}" is not a list of strings`);
  return value as string[];
}

/**
 * The `dns` of a CNI result, checked; undefined when the result has none or no nameserver (the
 * pod then keeps the host's resolver, as a runtime would leave it).
 */
export function podDnsOf(result: unknown): PodDns | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const dns = (result as { dns?: unknown }).dns;
  if (dns === undefined) return undefined;
  if (typeof dns !== "object" || dns === null || Array.isArray(dns))
    throw new ResolvConfError(`the CNI result's "dns" is not an object`);
  const o = dns as Record<string, unknown>;
  const nameservers = stringList(o.nameservers, "nameservers");
  const search = stringList(o.search, "search");
  const options = stringList(o.options, "options");
  for (const ns of nameservers)
    if (tryParseIP(ns) === undefined)
      throw new ResolvConfError(`the CNI result's nameserver "${ns}" is not an IP address`);
  for (const s of search)
    if (!DOMAIN.test(s))
      throw new ResolvConfError(`the CNI result's search domain "${s}" is not a domain name`);
  for (const opt of options)
    if (!OPTION.test(opt))
      throw new ResolvConfError(`the CNI result's resolver option "${opt}" is not valid`);
  if (nameservers.length > MAX_NAMESERVERS)
    throw new ResolvConfError(
      `the CNI result names ${nameservers.length} nameservers; glibc reads at most ${MAX_NAMESERVERS}`,
    );
  if (search.length > MAX_SEARCH)
    throw new ResolvConfError(`the CNI result names ${search.length} search domains; at most ${MAX_SEARCH}`);
  if (nameservers.length === 0) return undefined;
  return { nameservers, search, options };
}

export function renderResolvConf(dns: PodDns): string {
  const lines = ["# written by podnet lab from the pod's CNI result"];
  for (const ns of dns.nameservers) lines.push(`nameserver ${ns}`);
  if (dns.search.length > 0) lines.push(`search ${dns.search.join(" ")}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/** What `ip netns exec` shows a pod as /etc/resolv.conf, read back (nameservers and search). */
export function parseResolvConf(text: string): { nameservers: string[]; search: string[] } {
  const nameservers: string[] = [];
  let search: string[] = [];
  for (const line of text.split("\n")) {
    const [key, ...values] = line.trim().split(/\s+/);
    if (key === "nameserver" && values[0] !== undefined) nameservers.push(values[0]);
    // The last search (or domain) line wins, as in glibc.
    else if (key === "search" || key === "domain") search = values;
  }
  return { nameservers, search };
}

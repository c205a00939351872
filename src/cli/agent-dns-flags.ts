/**
 * `podnet agent`'s cluster DNS flags: --cluster-domain, --dns-address (a node-local address, or
 * "none" to run without DNS; by default 169.254.20.10, or fd00::10 when no --cluster-cidr is IPv4) and --dns-upstream (repeatable; "none" refuses outside names; by
 * default the nameservers of the agent's own resolv.conf that a pod's query may go to).
 */
import { readFileSync } from "node:fs";
import {
  type ClusterDnsOptions,
  DEFAULT_CLUSTER_DOMAIN,
  DNS_ADDRESS_ADVICE,
  DnsAddressInRangeError,
  defaultDnsAddress,
  defaultUpstreams,
  dnsAddressRange,
  parseDnsAddress,
  resolvConfNameservers,
} from "../agent/cluster-dns-options.ts";
import { clusterDomainProblem } from "../cni/cluster-dns.ts";
import { formatUpstream, parseUpstream } from "../dns/upstream.ts";
import { DEFAULT_SERVICE_CIDR } from "../ipam/cluster-config.ts";
import { type IPPrefix, parsePrefix } from "../ipnet/prefix.ts";
import { flag, flagList, type ParsedArgs, UsageError } from "./args.ts";

/** The flags this file reads. */
export const DNS_FLAGS = ["cluster-domain", "dns-address", "dns-upstream"];

/** Where the node's own resolvers are read from when no --dns-upstream is given. */
export const NODE_RESOLV_CONF = "/etc/resolv.conf";

/**
 * The cluster domain and the node-local DNS settings from the flags. `resolvConf` gives the text
 * of the agent's own resolv.conf (read only when no --dns-upstream is given; undefined when it
 * cannot be read, which leaves no upstream).
 */
export function clusterDnsFlags(
  args: ParsedArgs,
  resolvConf: () => string | undefined,
): { clusterDomain: string; dns: ClusterDnsOptions | undefined } {
  const clusterDomain = flag(args, "cluster-domain") ?? DEFAULT_CLUSTER_DOMAIN;
  const domainProblem = clusterDomainProblem(clusterDomain);
  if (domainProblem !== undefined) throw new UsageError(`--cluster-domain ${domainProblem}`);
  // The agent's own --cluster-cidr flags: an IPv6-only cluster defaults to fd00::10.
  const given = flag(args, "dns-address");
  const addressText = given ?? defaultDnsAddress(flagList(args, "cluster-cidr"));
  const upstreamTexts = flagList(args, "dns-upstream");
  if (addressText === "none") {
    if (upstreamTexts.length > 0)
      throw new UsageError("--dns-upstream needs the node-local DNS (--dns-address is none)");
    return { clusterDomain, dns: undefined };
  }
  let address: string;
  try {
    address = parseDnsAddress(addressText);
  } catch (e) {
    throw new UsageError(`--dns-address: ${(e as Error).message}`);
  }
  const range = dnsAddressRange(address, flagRanges(args));
  if (range !== undefined) {
    const e =
      given === undefined
        ? new DnsAddressInRangeError(address, range, DNS_ADDRESS_ADVICE, "The default node-local DNS address")
        : new DnsAddressInRangeError(address, range, "pass another (or none)", "--dns-address");
    throw new UsageError(e.message);
  }
  if (upstreamTexts.length === 0) {
    const text = resolvConf();
    const upstreams = text === undefined ? [] : defaultUpstreams(resolvConfNameservers(text), address);
    return { clusterDomain, dns: { address, upstreams } };
  }
  if (upstreamTexts.includes("none")) {
    if (upstreamTexts.length > 1)
      throw new UsageError(`--dns-upstream none cannot be given with other upstreams`);
    return { clusterDomain, dns: { address, upstreams: [] } };
  }
  const upstreams = upstreamTexts.map((text) => {
    let upstream: ReturnType<typeof parseUpstream>;
    try {
      upstream = parseUpstream(text);
    } catch (e) {
      throw new UsageError(`--dns-upstream: ${(e as Error).message}`);
    }
    if (upstream.host === address && upstream.port === 53)
      throw new UsageError(
        `--dns-upstream "${text}" is the node-local DNS address itself (a forwarding loop)`,
      );
    return formatUpstream(upstream);
  });
  return { clusterDomain, dns: { address, upstreams: [...new Set(upstreams)] } };
}

/**
 * The ranges the flags propose (--service-cidr defaulting as buildClusterConfig does when a
 * --cluster-cidr is given); a range that does not parse is left to buildClusterConfig to refuse.
 */
function flagRanges(args: ParsedArgs): { clusterCidrs: IPPrefix[]; serviceCidrs: IPPrefix[] } {
  const clusterTexts = flagList(args, "cluster-cidr");
  const serviceTexts = flagList(args, "service-cidr");
  const parsed = (texts: readonly string[]) =>
    texts.flatMap((t) => {
      try {
        return [parsePrefix(t)];
      } catch {
        return [];
      }
    });
  return {
    clusterCidrs: parsed(clusterTexts),
    serviceCidrs: parsed(
      serviceTexts.length > 0 || clusterTexts.length === 0 ? serviceTexts : [DEFAULT_SERVICE_CIDR],
    ),
  };
}

/** The agent's own resolv.conf, or undefined when it cannot be read. */
export function readResolvConf(): string | undefined {
  try {
    return readFileSync(NODE_RESOLV_CONF, "utf8");
  } catch {
    return undefined;
  }
}

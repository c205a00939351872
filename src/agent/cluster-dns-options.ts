/**
 * The node-local DNS settings of the agent (pure): the address pods query, the upstream resolvers
 * for names outside the cluster, and how the defaults are found. As NodeLocal DNSCache does, the
 * address is one held by the node itself (FINDINGS §2): 169.254.20.10 by default, fd00::10 when
 * the cluster's pods have no IPv4 address;
 * the upstreams default to the node's own resolv.conf nameservers, less those a pod could not
 * reach through the node or that would loop back to this server.
 */
import { formatIP, type IPAddress, parseIP, tryParseIP } from "../ipnet/address.ts";
import { containsIP, formatPrefix, type IPPrefix, parsePrefix } from "../ipnet/prefix.ts";

export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";
export const DEFAULT_DNS_ADDRESS = "169.254.20.10";
/**
 * The default for a cluster without IPv4 pod addresses, which could not reach 169.254.20.10: a
 * unique local address outside podnet's default ranges, the IPv6 example of Kubernetes' NodeLocal
 * DNSCache docs. The node holds it `nodad` on its DNS link (linux/local-address-link.ts).
 */
export const DEFAULT_DNS_ADDRESS6 = "fd00::10";
/** The empty bridge that holds the address (this kernel has no dummy device; a bridge serves). */
export const DNS_LINK = "podnet-dns";
export const DNS_PORT = 53;

export interface ClusterDnsOptions {
  /** The node-local address (canonical text) the server listens on, UDP and TCP. */
  readonly address: string;
  /** "IP", "IP:PORT" or "[IPv6]:PORT"; empty: names outside the cluster are REFUSED. */
  readonly upstreams: readonly string[];
  /** 53 unless a test says otherwise. */
  readonly port?: number;
}

export class DnsAddressError extends Error {
  override readonly name = "DnsAddressError";
  constructor(input: string, reason: string) {
    super(`Invalid DNS address "${input}": ${reason}`);
  }
}

/** The node-local DNS address lies in a range whose addresses pods or Services are given. */
export class DnsAddressInRangeError extends Error {
  override readonly name = "DnsAddressInRangeError";
  constructor(
    readonly address: string,
    readonly range: DnsAddressRange,
    advice: string,
    what = "Node-local DNS address",
  ) {
    super(
      `${what} ${address} lies in ${range.kind} ${range.cidr}: IPAM could give it to a ` +
        `${range.kind === "cluster CIDR" ? "pod" : "Service"} while every node holds it for DNS; ${advice}`,
    );
  }
}

/** What to do about it, for a node-local DNS address given or defaulted. */
export const DNS_ADDRESS_ADVICE =
  "pass --dns-address with an address outside the cluster and service CIDRs (or none to run without DNS)";

/** A cluster or service CIDR, as its error names it. */
export interface DnsAddressRange {
  readonly kind: "cluster CIDR" | "service CIDR";
  readonly cidr: string;
}

/**
 * The first cluster or service CIDR that holds `address` (fd00::10, the IPv6 default, is inside
 * any fd00::/8 range a user picks), or undefined when it lies in none.
 */
export function dnsAddressRange(
  address: string,
  ranges: { readonly clusterCidrs: readonly IPPrefix[]; readonly serviceCidrs: readonly IPPrefix[] },
): DnsAddressRange | undefined {
  const ip = parseIP(address);
  const holds = (p: IPPrefix) => p.family === ip.family && containsIP(p, ip);
  const cluster = ranges.clusterCidrs.find(holds);
  if (cluster) return { kind: "cluster CIDR", cidr: formatPrefix(cluster) };
  const service = ranges.serviceCidrs.find(holds);
  if (service) return { kind: "service CIDR", cidr: formatPrefix(service) };
  return undefined;
}

/** Refuses a node-local DNS address inside the cluster's pod or Service ranges. */
export function checkDnsAddress(
  address: string,
  ranges: { readonly clusterCidrs: readonly IPPrefix[]; readonly serviceCidrs: readonly IPPrefix[] },
  advice: string,
): void {
  const range = dnsAddressRange(address, ranges);
  if (range) throw new DnsAddressInRangeError(address, range, advice);
}

const LOOPBACK = [parsePrefix("127.0.0.0/8"), parsePrefix("::1/128")];
const UNUSABLE = [
  ...LOOPBACK,
  parsePrefix("0.0.0.0/32"),
  parsePrefix("::/128"),
  parsePrefix("224.0.0.0/4"),
  parsePrefix("255.255.255.255/32"),
  parsePrefix("ff00::/8"),
];

const within = (ip: IPAddress, prefixes: typeof LOOPBACK) =>
  prefixes.some((p) => p.family === ip.family && containsIP(p, ip));

/**
 * The default node-local address for pods of `clusterCidrs`: 169.254.20.10 unless none of them is
 * IPv4 (a dual-stack pod asks over IPv4 and still gets AAAA answers, as a kubelet gives it one
 * nameserver); without known CIDRs (an agent joining a cluster whose config it has not read yet)
 * the IPv4 one.
 */
export function defaultDnsAddress(clusterCidrs: readonly string[]): string {
  const families = clusterCidrs.map((c) => (c.includes(":") ? 6 : 4));
  return families.length > 0 && !families.includes(4) ? DEFAULT_DNS_ADDRESS6 : DEFAULT_DNS_ADDRESS;
}

/** The node-local address from its text: a unicast address a pod can reach through its node. */
export function parseDnsAddress(text: string): string {
  const ip = tryParseIP(text);
  if (ip === undefined) throw new DnsAddressError(text, "not an IP address");
  if (within(ip, UNUSABLE))
    throw new DnsAddressError(text, "a loopback, unspecified or multicast address cannot serve pods");
  return formatIP(ip);
}

/**
 * The nameservers of a resolv.conf text, in order (resolv.conf(5): "nameserver ADDRESS" lines;
 * comments start with "#" or ";"). Entries that are not addresses, or carry an IPv6 zone (a
 * link-local resolver of the node's own link, unreachable for pods), are left out.
 */
export function resolvConfNameservers(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [keyword, value] = line.split(/\s+/);
    if (keyword !== "nameserver" || value === undefined) continue;
    const ip = tryParseIP(value);
    if (ip !== undefined) out.push(formatIP(ip));
  }
  return out;
}

/**
 * The upstreams used when none are given: the node's nameservers without loopback ones (a local
 * stub such as systemd-resolved's 127.0.0.53 is the node's, and the agent may run in another
 * namespace) and without the node-local address itself (a forwarding loop), without repeats.
 */
export function defaultUpstreams(nameservers: readonly string[], dnsAddress: string): string[] {
  const own = tryParseIP(dnsAddress);
  const out: string[] = [];
  for (const text of nameservers) {
    const ip = tryParseIP(text);
    if (ip === undefined || within(ip, LOOPBACK)) continue;
    const canonical = formatIP(ip);
    if (own !== undefined && canonical === formatIP(own)) continue;
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

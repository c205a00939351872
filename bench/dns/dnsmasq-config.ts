/**
 * dnsmasq serving the benchmark's records (pure): the configuration and the hosts file it reads
 * (FINDINGS §4: the way kube-dns' dnsmasq could be given fixed records). An address record whose
 * PTR points back to the same name becomes one hosts-file line (dnsmasq makes the A and the PTR of
 * it); SRV becomes srv-host, anything else with no dnsmasq form is refused, so the two servers never
 * silently serve different zones.
 */
import { unhandled } from "../../src/base/unhandled.ts";
import { reverseName } from "../../src/dns/dns-name.ts";
import type { ZoneRecord } from "../../src/dns/zone-records.ts";
import { parseIP } from "../../src/ipnet/address.ts";
import { DOMAIN, type OwnedRecords, TTL } from "./bench-zone.ts";

export class DnsmasqConfigError extends Error {
  override readonly name = "DnsmasqConfigError";
}

export interface DnsmasqFiles {
  /** The --conf-file text. */
  readonly conf: string;
  /** The addn-hosts text: "IP name" lines. */
  readonly hosts: string;
  readonly hostLines: number;
  readonly srvLines: number;
}

export interface DnsmasqPlace {
  readonly address: string;
  readonly port: number;
  /** Where the hosts file will be (the conf names it). */
  readonly hostsFile: string;
  /** The cache size; dnsmasq's own records (hosts, srv-host) are not cached entries and need none. */
  readonly cacheSize: number;
}

/** The conf and hosts text of dnsmasq answering exactly `owned`. */
export function dnsmasqFiles(owned: Iterable<OwnedRecords>, place: DnsmasqPlace): DnsmasqFiles {
  const addresses = new Map<string, string[]>(); // name → IPs
  const ptrs = new Map<string, string>(); // reverse owner → target
  const srv: string[] = [];
  for (const { name, records } of owned) for (const r of records) addRecord(name, r, addresses, ptrs, srv);
  const hosts: string[] = [];
  for (const [name, ips] of addresses)
    for (const ip of ips) {
      const reverse = reverseName(parseIP(ip));
      if (ptrs.get(reverse) !== name)
        throw new DnsmasqConfigError(
          `Cannot give dnsmasq "${name}" ${ip}: a hosts line also makes its PTR, and podnet's PTR of ${ip} is ${ptrs.get(reverse) ?? "absent"}`,
        );
      ptrs.delete(reverse);
      hosts.push(`${ip} ${name}`);
    }
  // PTRs without a matching address name (none in this benchmark's zone, but kept exact).
  const ptrLines = [...ptrs].map(([owner, target]) => `ptr-record=${owner},${target}`);
  const conf = [
    "# Written by bench/dns: fixed cluster records only, no upstream, no /etc/hosts.",
    "no-resolv",
    "no-hosts",
    `addn-hosts=${place.hostsFile}`,
    `local=/${DOMAIN}/`,
    `listen-address=${place.address}`,
    "bind-interfaces",
    `port=${place.port}`,
    `cache-size=${place.cacheSize}`,
    // The default TTL of hosts-file answers is 0; podnet answers with its zone TTL.
    `local-ttl=${TTL}`,
    // Stay root in the benchmark's namespace: its files are in a directory only root can read.
    "user=root",
    `txt-record=dns-version.${DOMAIN},"1.1.0"`,
    ...srv,
    ...ptrLines,
    "",
  ].join("\n");
  return { conf, hosts: `${hosts.join("\n")}\n`, hostLines: hosts.length, srvLines: srv.length };
}

function addRecord(
  name: string,
  r: ZoneRecord,
  addresses: Map<string, string[]>,
  ptrs: Map<string, string>,
  srv: string[],
): void {
  switch (r.type) {
    case "A":
    case "AAAA": {
      const list = addresses.get(name);
      if (list === undefined) addresses.set(name, [r.data]);
      else if (!list.includes(r.data)) list.push(r.data);
      return;
    }
    case "PTR": {
      const before = ptrs.get(name);
      if (before !== undefined && before !== r.data)
        throw new DnsmasqConfigError(`Cannot give dnsmasq two PTRs for "${name}": ${before} and ${r.data}`);
      ptrs.set(name, r.data);
      return;
    }
    case "SRV": {
      const d = r.data;
      srv.push(`srv-host=${name},${d.target},${d.port},${d.priority ?? 0},${d.weight ?? 0}`);
      return;
    }
    case "TXT":
    case "SOA":
      throw new DnsmasqConfigError(
        `Cannot give dnsmasq the ${r.type} record of "${name}": the benchmark has no such Service records`,
      );
    default:
      unhandled(r, (shown) => new DnsmasqConfigError(`Cannot give dnsmasq the record ${shown}`));
  }
}

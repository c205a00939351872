/**
 * The podnet side of the DNS benchmark, as a process of its own inside the benchmark's namespace
 * (so its memory is its own): src/dns's ClusterZone fed with SERVICES Services × ENDPOINTS
 * endpoints and startDnsServer on ADDRESS:PORT, no upstreams (outside names are REFUSED, as
 * dnsmasq's no-resolv). The per-client rate limit is lifted: dnsperf is one client sending tens of
 * thousands of queries a second, and the benchmark measures the server, not the limit. Prints one
 * JSON line when it serves ({port, services, names, buildMs}) and, on SIGTERM, one with the
 * server's counters before it exits.
 *
 * usage: bun bench/dns/podnet-dns-child.ts SERVICES ENDPOINTS ADDRESS PORT
 */
import { ClusterZone } from "../../src/dns/cluster-zone.ts";
import { startDnsServer } from "../../src/dns/dns-server.ts";
import { benchZoneEntries, DOMAIN, REVERSE_CIDRS, TTL } from "./bench-zone.ts";

export interface ChildReady {
  readonly port: number;
  readonly services: number;
  readonly buildMs: number;
}

export interface ChildStats {
  readonly queries: number;
  readonly dropped: Readonly<Record<string, number>>;
  readonly byRcode: Readonly<Record<string, number>>;
}

const [servicesText, endpointsText, address, portText] = Bun.argv.slice(2);
const services = Number(servicesText);
const endpoints = Number(endpointsText);
const port = Number(portText);
if (
  !Number.isInteger(services) ||
  services < 1 ||
  !Number.isInteger(endpoints) ||
  endpoints < 1 ||
  address === undefined ||
  !Number.isInteger(port) ||
  port < 0 ||
  port > 65535
) {
  process.stderr.write("usage: bun bench/dns/podnet-dns-child.ts SERVICES ENDPOINTS ADDRESS PORT\n");
  process.exit(2);
}

const started = performance.now();
const zone = new ClusterZone({ domain: DOMAIN, ttl: TTL, reverseCidrs: REVERSE_CIDRS });
zone.reset(benchZoneEntries(services, endpoints));
const buildMs = performance.now() - started;
// What the agent holds between changes: the zone, not the garbage of building it.
Bun.gc(true);
const server = await startDnsServer({
  address,
  port,
  zone,
  upstreams: [],
  rateLimit: { perSecond: 1e9, burst: 1e9, maxClients: 16 },
});
const ready: ChildReady = { port: server.port, services: zone.serviceCount, buildMs };
process.stdout.write(`${JSON.stringify(ready)}\n`);

process.on("SIGTERM", () => {
  const s = server.stats;
  const stats: ChildStats = {
    queries: s.queries,
    dropped: { ...s.dropped },
    byRcode: Object.fromEntries(s.byRcode),
  };
  server.stop();
  process.stdout.write(`${JSON.stringify(stats)}\n`, () => process.exit(0));
});

/**
 * The node's cluster DNS (part of the agent), as NodeLocal DNSCache runs it but without a central
 * server behind it: the agent answers for the cluster domain from its own ClusterView (the same
 * list+watch the service proxy reads, so no second watch), on a node-local address held by an
 * empty bridge `podnet-dns` in the agent's network namespace; pods reach it through their default
 * route. Names outside the cluster go to the upstreams.
 *
 * The link is made at start and the server by the first sync after the view has listed (a zone
 * that knows nothing would answer NXDOMAIN for every Service), retried with backoff when that
 * fails, and the link is checked every resync period (an address removed by hand is put back).
 * On stop the server closes but the link and its address stay, as the proxy's tables do: while
 * no agent serves (a restart, an upgrade, before the first serve), a pod's query still ends on
 * the node, refused at once (ICMP port unreachable, a TCP reset). Were the address gone, the
 * query would follow the node's default route out of the uplink, masqueraded, to whatever
 * answers for that address there. The next start re-uses the link (a changed address replaces
 * the old one); only an agent run without DNS removes it (removeNodeLocalDnsLink).
 */
import { errorText } from "../base/error-text.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { SyncLoop } from "../daemon/sync-loop.ts";
import { Timers } from "../daemon/timers.ts";
import { ClusterZone } from "../dns/cluster-zone.ts";
import { type DnsServer, startDnsServer } from "../dns/dns-server.ts";
import { parseIP } from "../ipnet/address.ts";
import {
  deleteLocalAddressLink,
  ensureLocalAddressLink,
  localAddressesOf,
} from "../linux/local-address-link.ts";
import type { ClusterView, ViewChange } from "../proxy/cluster-view.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import { ClusterDnsFeed } from "./cluster-dns-feed.ts";
import { type ClusterDnsOptions, DNS_LINK, DNS_PORT } from "./cluster-dns-options.ts";

export interface NodeLocalDnsConfig {
  readonly dns: ClusterDnsOptions;
  readonly clusterDomain: string;
  /** Pod and service CIDRs: their reverse zones (PTR) are answered here, never forwarded. */
  readonly reverseCidrs: readonly string[];
  /** How often the link is checked. */
  readonly checkSeconds: number;
}

/** Watch events this close together update the zone once. */
const COALESCE_MS = 10;

export class NodeLocalDns {
  private readonly zone: ClusterZone;
  private readonly feed: ClusterDnsFeed;
  private readonly loop: SyncLoop;
  private readonly timers = new Timers();
  private readonly cidr: string;
  private server: DnsServer | undefined;
  private unsubscribe: (() => void) | undefined;
  /** The next sync replaces the zone whole (the view listed again, or nothing was given yet). */
  private resetPending = true;
  /** Keys of the Services the view named as changed since the last sync. */
  private readonly changedServices = new Set<string>();
  private stopped = false;

  constructor(
    private readonly view: ClusterView,
    private readonly config: NodeLocalDnsConfig,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly m: AgentMetrics,
  ) {
    this.zone = new ClusterZone({ domain: config.clusterDomain, reverseCidrs: config.reverseCidrs });
    this.feed = new ClusterDnsFeed(this.zone);
    const ip = parseIP(config.dns.address);
    this.cidr = `${config.dns.address}/${ip.family === 4 ? 32 : 128}`;
    this.loop = new SyncLoop({
      sync: () => this.sync(),
      failed: (error, reason, retryInMs) => {
        this.m.errors.inc({ kind: "dns" });
        this.log.error("node-local DNS sync failed; retrying", {
          error: errorText(error),
          reason,
          retryInMs,
        });
      },
      firstRetryMs: 500,
      maxRetryMs: config.checkSeconds * 1000,
      coalesceMs: COALESCE_MS,
    });
  }

  /** The server's counters (undefined until it serves). */
  get stats(): DnsServer["stats"] | undefined {
    return this.server?.stats;
  }

  /**
   * Follows the view and, when it has listed, fills the zone and starts serving. Never throws: a
   * failure (the address or port taken, say) is logged, counted and retried.
   */
  async start(): Promise<void> {
    // Held from now on: queries before the first serve are refused on the node, not routed out.
    try {
      ensureLocalAddressLink(DNS_LINK, parseIP(this.config.dns.address));
    } catch (e) {
      this.m.errors.inc({ kind: "dns" });
      this.log.error("could not set up the node-local DNS link; the first sync tries again", {
        link: DNS_LINK,
        error: errorText(e),
      });
    }
    this.unsubscribe = this.view.subscribe({
      changed: (change, services) => this.changed(change, services),
    });
    this.timers.every(this.config.checkSeconds * 1000, () => this.checkLink());
    if (this.view.listed) await this.loop.flush("start");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.timers.clear();
    await this.loop.stop();
    this.server?.stop();
    this.server = undefined;
    this.m.dnsServing.set(0);
    // The link and its address stay (see the header): pods' queries keep ending on the node.
  }

  private changed(change: ViewChange, services: ReadonlySet<string> | undefined): void {
    if (change === "listed" || services === undefined) this.resetPending = true;
    else for (const key of services) this.changedServices.add(key);
    this.loop.request(change);
  }

  private async sync(): Promise<void> {
    // The zone first: once the server answers, it answers from what the datastore holds.
    if (this.resetPending) {
      const r = this.feed.reset(this.view.entries());
      this.resetPending = false;
      this.changedServices.clear();
      this.m.dnsZoneUpdates.inc({ kind: "reset" });
      if (r.deleted > 0) this.m.dnsZoneUpdates.inc({ kind: "delete" }, r.deleted);
    } else {
      // Only the Services the view named: a change costs what it touched, not every Service.
      const r = this.feed.updateKeys(this.changedServices, (key) => this.view.entry(key));
      this.changedServices.clear();
      if (r.put > 0) this.m.dnsZoneUpdates.inc({ kind: "put" }, r.put);
      if (r.deleted > 0) this.m.dnsZoneUpdates.inc({ kind: "delete" }, r.deleted);
    }
    this.m.dnsServices.set(this.feed.services);
    if (this.server === undefined && !this.stopped) await this.serve();
  }

  private async serve(): Promise<void> {
    const created = ensureLocalAddressLink(DNS_LINK, parseIP(this.config.dns.address));
    // startDnsServer registers its series before it binds: a failed bind must not leave them
    // registered, or every retry would fail on "already registered".
    const registry = this.metrics.registry;
    const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
    try {
      this.server = await startDnsServer({
        address: this.config.dns.address,
        port: this.config.dns.port ?? DNS_PORT,
        zone: this.zone,
        upstreams: this.config.dns.upstreams,
        metrics: this.metrics,
        log: this.log,
      });
    } catch (e) {
      for (const m of registry.getMetricsAsArray())
        if (!before.has(m.name)) registry.removeSingleMetric(m.name);
      throw e;
    }
    if (this.stopped) {
      this.server.stop();
      this.server = undefined;
      return;
    }
    this.m.dnsServing.set(1);
    this.log.info("node-local DNS serving", {
      link: DNS_LINK,
      linkCreated: created,
      address: this.config.dns.address,
      domain: this.config.clusterDomain,
      upstreams: this.config.dns.upstreams,
      services: this.feed.services,
    });
  }

  /** The address removed (or the link deleted) by hand is put back; the sockets stay bound. */
  private checkLink(): void {
    if (this.server === undefined || this.stopped) return;
    try {
      if (localAddressesOf(DNS_LINK)?.includes(this.cidr)) return;
      this.log.warn("the node-local DNS address was missing; putting it back", {
        link: DNS_LINK,
        address: this.cidr,
      });
      ensureLocalAddressLink(DNS_LINK, parseIP(this.config.dns.address));
    } catch (e) {
      this.m.errors.inc({ kind: "dns" });
      this.log.error("could not check the node-local DNS link", { link: DNS_LINK, error: errorText(e) });
    }
  }
}

/**
 * For an agent run without DNS (`--dns-address none`): removes the link an earlier run left, so
 * the node no longer holds the address. Never throws; true when there was a link.
 */
export function removeNodeLocalDnsLink(log: Logger): boolean {
  try {
    const removed = deleteLocalAddressLink(DNS_LINK);
    if (removed) log.info("node-local DNS is off; removed the link of an earlier run", { link: DNS_LINK });
    return removed;
  } catch (e) {
    log.error("could not remove the node-local DNS link", { link: DNS_LINK, error: errorText(e) });
    return false;
  }
}

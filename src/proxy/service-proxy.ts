/**
 * The service proxy of one node (part of the agent): follows Services and pod records in the
 * datastore, renders this node's nftables tables (ruleset.ts) and applies them with `nft -f` —
 * the whole table on the first sync, after a failure and when the table went missing, otherwise
 * only what changed (diff.ts). Bursts of events are coalesced into one sync. After a sync, UDP
 * conntrack entries towards endpoints that are gone are deleted (stale-flows.ts).
 *
 * The tables are left in place on stop: Services keep working while the agent restarts, and the
 * next start replaces them in full.
 */

import type { Logger } from "../agent/log.ts";
import type { Registry } from "../agent/metrics.ts";
import { listPodRecords, watchPodRecords } from "../cluster/pod-records.ts";
import { listServices, watchServices } from "../cluster/service-store.ts";
import type { Store, Watch } from "../store/store.ts";
import { diffRulesets, fullSync } from "./diff.ts";
import { EndpointIndex, type ServiceEntry } from "./endpoint-index.ts";
import { applyTransaction, deleteFlowEntries, tableExists } from "./kernel-commands.ts";
import { nonMasqueradeCidrs } from "./masquerade-cidrs.ts";
import type { NftFamily, Ruleset } from "./nft-model.ts";
import { renderRuleset } from "./ruleset.ts";
import { newlyServedUdp, staleUdpFlows } from "./stale-flows.ts";

export interface ProxyOptions {
  /** Masquerade pod traffic to destinations outside the non-masquerade CIDRs (egress). */
  readonly masqueradeEgress: boolean;
  /** Keep RFC 1918 / ULA destinations unmasqueraded too (ip-masq-agent's convention). */
  readonly keepPrivateRanges: boolean;
  /** Further destinations that must see pod addresses. */
  readonly nonMasqueradeCidrs: readonly string[];
  /** How often the tables' presence is checked (a full sync follows when one is missing). */
  readonly checkSeconds: number;
}

/** What the proxy needs to know about its node and cluster; read at every sync. */
export interface NodeView {
  readonly nodeName: string;
  /** Where NodePorts answer. */
  readonly nodeIPs: readonly string[];
  readonly clusterCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
}

const COALESCE_MS = 10;

export class ServiceProxy {
  private readonly index = new EndpointIndex();
  private readonly applied = new Map<NftFamily, Ruleset>();
  private lastEntries: readonly ServiceEntry[] = [];
  private lastProblems = "";
  private firstSyncDone = false;
  private watches: Watch[] = [];
  private timers: ReturnType<typeof setTimeout>[] = [];
  private rewatchTimer: ReturnType<typeof setTimeout> | undefined;
  private syncTimer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private queued = false;
  private forceFull = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly m;

  constructor(
    private readonly store: Store,
    private readonly options: ProxyOptions,
    private readonly nodeView: () => NodeView,
    private readonly log: Logger,
    metrics: Registry,
  ) {
    this.m = {
      syncs: metrics.counter(
        "podnet_proxy_syncs_total",
        "Service proxy syncs applied, by kind (full, partial).",
      ),
      seconds: metrics.histogram(
        "podnet_proxy_sync_duration_seconds",
        "Duration of one service proxy sync (render, diff, nft).",
        [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ),
      errors: metrics.counter(
        "podnet_proxy_errors_total",
        "Service proxy errors by kind (nft, store, conntrack).",
      ),
      services: metrics.gauge("podnet_proxy_services", "Services the proxy knows."),
      endpoints: metrics.gauge("podnet_proxy_endpoints", "Endpoints over all Services."),
      problems: metrics.gauge("podnet_proxy_render_problems", "Service input skipped when rendering."),
      stale: metrics.counter(
        "podnet_proxy_stale_udp_entries_deleted_total",
        "Conntrack entries of UDP flows to removed endpoints that were deleted.",
      ),
    };
    for (const kind of ["full", "partial"]) this.m.syncs.inc({ kind }, 0);
    for (const kind of ["nft", "store", "conntrack"]) this.m.errors.inc({ kind }, 0);
    this.m.stale.inc({}, 0);
  }

  /**
   * Lists, watches and applies the first full sync. Never throws: a datastore or nft failure is
   * logged, counted and retried; the sync metrics tell when the first sync is in.
   */
  async start(): Promise<void> {
    const check = setInterval(() => void this.checkTables(), this.options.checkSeconds * 1000);
    this.timers.push(check);
    try {
      await this.listAndWatch();
    } catch (e) {
      this.watchFailed(e as Error);
      return;
    }
    await this.syncNow().catch(() => {});
  }

  /** Schedules a sync (coalesced with others requested within a few milliseconds). */
  requestSync(full = false): void {
    if (full) this.forceFull = true;
    if (this.stopped || this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      void this.syncNow().catch(() => {});
    }, COALESCE_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watches) w.close();
    this.watches = [];
    for (const t of this.timers) clearInterval(t);
    if (this.rewatchTimer) clearTimeout(this.rewatchTimer);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    await this.idle;
  }

  private async listAndWatch(): Promise<void> {
    const [services, pods] = await Promise.all([listServices(this.store), listPodRecords(this.store)]);
    for (const reason of [...services.invalid, ...pods.invalid]) this.log.warn("record skipped", { reason });
    this.index.reset(services.services, pods.pods);
    for (const w of this.watches) w.close();
    const failed = (e: Error) => this.watchFailed(e);
    this.watches = [
      watchServices(
        this.store,
        services.revision + 1,
        (events) => {
          for (const ev of events) {
            if (ev.type === "put") this.index.putService(ev.service);
            else if (ev.type === "delete") this.index.deleteService(ev.namespace, ev.name);
            else this.log.warn("Service record skipped", { key: ev.key, reason: ev.reason });
          }
          this.requestSync();
        },
        failed,
      ),
      watchPodRecords(
        this.store,
        pods.revision + 1,
        (events) => {
          for (const ev of events) {
            if (ev.type === "put") this.index.putPod(ev.pod);
            else if (ev.type === "delete") this.index.deletePod(ev.pod);
            else this.log.warn("pod record skipped", { key: ev.key, reason: ev.reason });
          }
          this.requestSync();
        },
        failed,
      ),
    ];
  }

  private watchFailed(e: Error): void {
    if (this.stopped) return;
    this.m.errors.inc({ kind: "store" });
    this.log.error("Service/pod watch failed; listing and watching again", { error: e });
    for (const w of this.watches) w.close();
    this.watches = [];
    if (this.rewatchTimer) return;
    this.rewatchTimer = setTimeout(async () => {
      this.rewatchTimer = undefined;
      if (this.stopped) return;
      try {
        await this.listAndWatch();
        this.requestSync();
      } catch (err) {
        this.watchFailed(err as Error);
      }
    }, 1000);
  }

  private families(view: NodeView, entries: readonly ServiceEntry[]): NftFamily[] {
    const v6 =
      [...view.clusterCidrs, ...view.serviceCidrs].some((c) => c.includes(":")) ||
      entries.some((e) => e.service.clusterIPs.some((ip) => ip.includes(":")));
    return v6 ? ["ip", "ip6"] : ["ip"];
  }

  /** Runs a sync now, or once more after the running one. */
  private async syncNow(): Promise<void> {
    if (this.running) {
      this.queued = true;
      return this.idle;
    }
    this.running = true;
    const done = (async () => {
      try {
        do {
          this.queued = false;
          await this.syncOnce();
        } while (this.queued && !this.stopped);
      } finally {
        this.running = false;
      }
    })();
    this.idle = done.catch(() => {});
    return done;
  }

  private async syncOnce(): Promise<void> {
    const started = performance.now();
    const view = this.nodeView();
    const entries = this.index.entries();
    const full = this.forceFull;
    this.forceFull = false;
    const problems: string[] = [];
    let kind: "full" | "partial" = "partial";
    try {
      for (const family of this.families(view, entries)) {
        const prev = full ? undefined : this.applied.get(family);
        const next = renderRuleset(
          {
            family,
            services: entries,
            nodeIPs: view.nodeIPs,
            podCidrs: view.clusterCidrs,
            nonMasqueradeCidrs: nonMasqueradeCidrs({
              clusterCidrs: view.clusterCidrs,
              serviceCidrs: view.serviceCidrs,
              keepPrivateRanges: this.options.keepPrivateRanges,
              extra: this.options.nonMasqueradeCidrs,
            }),
            masqueradeEgress: this.options.masqueradeEgress,
            nodeName: view.nodeName,
          },
          this.applied.get(family),
        );
        problems.push(...next.problems.map((p) => p.message));
        if (prev === undefined) {
          kind = "full";
          await applyTransaction(fullSync(next));
        } else {
          const text = diffRulesets(prev, next);
          if (text.startsWith("add table")) kind = "full";
          try {
            if (text !== "") await applyTransaction(text);
          } catch (e) {
            // The kernel is not what we think it is (someone changed the table): replace it.
            this.m.errors.inc({ kind: "nft" });
            this.log.warn("partial sync refused; replacing the table in full", { family, error: e });
            this.applied.delete(family);
            kind = "full";
            await applyTransaction(fullSync(next));
          }
        }
        this.applied.set(family, next);
      }
    } catch (e) {
      this.m.errors.inc({ kind: "nft" });
      this.log.error("service proxy sync failed; retrying with a full sync", { error: e });
      for (const family of ["ip", "ip6"] as const) this.applied.delete(family);
      this.retryLater();
      throw e;
    }
    this.m.syncs.inc({ kind });
    this.m.seconds.observe((performance.now() - started) / 1000);
    this.m.services.set(entries.length);
    this.m.endpoints.set(entries.reduce((n, e) => n + e.endpoints.length, 0));
    this.m.problems.set(problems.length);
    const problemText = problems.join("\n");
    if (problemText !== this.lastProblems && problems.length > 0)
      this.log.warn("some Service input was skipped", { problems });
    this.lastProblems = problemText;
    await this.deleteStaleFlows(entries);
  }

  private retryLater(): void {
    if (this.stopped) return;
    const t = setTimeout(() => this.requestSync(true), 1000);
    this.timers.push(t);
  }

  private async deleteStaleFlows(entries: readonly ServiceEntry[]): Promise<void> {
    const first = this.firstSyncDone === false;
    this.firstSyncDone = true;
    // Not after the first sync: the table of the previous run was in place, and every UDP port
    // would count as newly served (10,000 conntrack runs at start-up for nothing).
    const stale = [
      ...staleUdpFlows(this.lastEntries, entries),
      ...(first ? [] : newlyServedUdp(this.lastEntries, entries)),
    ];
    this.lastEntries = entries;
    for (const flow of stale) {
      const result = await deleteFlowEntries(flow);
      if ("error" in result) {
        this.m.errors.inc({ kind: "conntrack" });
        this.log.warn("could not delete stale UDP conntrack entries", { flow, error: result.error });
      } else if (result.deleted > 0) {
        this.m.stale.inc({}, result.deleted);
        this.log.info("deleted stale UDP conntrack entries", { flow, entries: result.deleted });
      }
    }
  }

  /** A table flushed or deleted behind our back is put back in full. */
  private async checkTables(): Promise<void> {
    if (this.running || this.stopped) return;
    for (const family of this.applied.keys()) {
      if (!(await tableExists(family))) {
        this.log.warn("podnet's nftables table is missing; replacing it in full", { family });
        this.requestSync(true);
        return;
      }
    }
  }
}

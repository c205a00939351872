/**
 * The service proxy of one node (part of the agent): follows Services and pod records through
 * the node's ClusterView (cluster-view.ts: the agent's one list+watch, shared with its DNS; the
 * proxy opens a view of its own when given a Store), renders this node's nftables tables
 * (ruleset.ts) and applies them through the kernel (proxy-kernel.ts) — the whole table on the
 * first sync, after a failure and when the table went missing, otherwise only what changed
 * (diff.ts). Bursts of events are coalesced into one sync (daemon/sync-loop.ts). After a sync,
 * UDP conntrack entries towards endpoints that are gone are deleted (stale-flows.ts).
 *
 * The tables are left in place on stop: Services keep working while the agent restarts, and the
 * next start replaces them in full.
 */

import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { SyncLoop } from "../daemon/sync-loop.ts";
import { Timers } from "../daemon/timers.ts";
import type { Store } from "../store/store.ts";
import { ClusterView, type ViewChange } from "./cluster-view.ts";
import { diffRulesets, fullSync } from "./diff.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import type { NftFamily } from "./nft-model.ts";
import type { ProxyKernel } from "./proxy-kernel.ts";
import { type RenderedRuleset, renderRuleset } from "./ruleset.ts";
import { newlyServedUdp, staleUdpFlows } from "./stale-flows.ts";
import { type EgressPolicy, type NodeView, tableInputs } from "./table-inputs.ts";

export interface ProxyOptions extends EgressPolicy {
  /** How often the tables' presence is checked (a full sync follows when one is missing). */
  readonly checkSeconds: number;
  /**
   * A failed sync is retried after this long, doubled per failure up to maxRetryMs (default 1 s,
   * up to the check period: the same rule as the agent's other loops).
   */
  readonly firstRetryMs?: number;
  readonly maxRetryMs?: number;
}

/** Events this close together are served by one sync. */
const COALESCE_MS = 10;

type SyncKind = "full" | "partial";

/** The proxy's Prometheus series; every labelled one exists from the first scrape. */
function proxyMetrics(metrics: Metrics) {
  const m = {
    syncs: metrics.counter(
      "podnet_proxy_syncs_total",
      "Service proxy syncs applied, by kind (full, partial).",
      ["kind"],
    ),
    seconds: metrics.histogram(
      "podnet_proxy_sync_duration_seconds",
      "Duration of one service proxy sync (render, diff, nft).",
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    errors: metrics.counter(
      "podnet_proxy_errors_total",
      "Service proxy errors by kind (nft, store, conntrack).",
      ["kind"],
    ),
    services: metrics.gauge("podnet_proxy_services", "Services the proxy knows."),
    endpoints: metrics.gauge("podnet_proxy_endpoints", "Endpoints over all Services."),
    problems: metrics.gauge("podnet_proxy_render_problems", "Service input skipped when rendering."),
    stale: metrics.counter(
      "podnet_proxy_stale_udp_entries_deleted_total",
      "Conntrack entries of UDP flows to removed endpoints that were deleted.",
    ),
  };
  for (const kind of ["full", "partial"]) m.syncs.inc({ kind }, 0);
  for (const kind of ["nft", "store", "conntrack"]) m.errors.inc({ kind }, 0);
  return m;
}

const CHANGE_REASONS: Record<ViewChange, string> = {
  listed: "Services and pods listed again",
  services: "Services changed",
  pods: "pods changed",
};

export class ServiceProxy {
  private readonly view: ClusterView;
  /** Whether the proxy opened the view itself (and so closes it). */
  private readonly ownsView: boolean;
  private unsubscribe: (() => void) | undefined;
  /** What the kernel has, per family, as far as the proxy knows: cleared when it does not know. */
  private readonly applied = new Map<NftFamily, RenderedRuleset>();
  private readonly m: ReturnType<typeof proxyMetrics>;
  private readonly loop: SyncLoop;
  private readonly timers = new Timers();
  private lastEntries: readonly ServiceEntry[] = [];
  private lastProblems = "";
  private firstSyncDone = false;
  private forceFull = false;
  private syncing = false;

  constructor(
    source: Store | ClusterView,
    private readonly options: ProxyOptions,
    private readonly nodeView: () => NodeView,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly kernel: ProxyKernel,
  ) {
    this.m = proxyMetrics(metrics);
    this.ownsView = !(source instanceof ClusterView);
    this.view = source instanceof ClusterView ? source : new ClusterView(source, log);
    this.loop = new SyncLoop({
      sync: () => this.sync(),
      failed: (error, _reason, retryInMs) => {
        this.m.errors.inc({ kind: "nft" });
        this.log.error("service proxy sync failed; retrying with a full sync", { error, retryInMs });
      },
      firstRetryMs: options.firstRetryMs ?? 1000,
      maxRetryMs: options.maxRetryMs ?? options.checkSeconds * 1000,
      coalesceMs: COALESCE_MS,
    });
  }

  /**
   * Lists and watches (through the view, started here when the proxy owns it) and applies the
   * first full sync. Never throws: a datastore or nft failure is logged, counted and retried; the
   * sync metrics tell when the first sync is in. Until the view has listed, nothing is applied:
   * an empty picture of the cluster would remove every Service from the kernel.
   */
  async start(): Promise<void> {
    this.timers.every(this.options.checkSeconds * 1000, () => void this.checkTables());
    this.unsubscribe = this.view.subscribe({
      changed: (change) => this.loop.request(CHANGE_REASONS[change]),
      failed: () => this.m.errors.inc({ kind: "store" }),
    });
    if (this.ownsView) await this.view.start();
    if (!this.view.listed) return;
    await this.loop.flush("start");
  }

  /** Schedules a sync (coalesced with others requested within a few milliseconds). */
  requestSync(): void {
    this.loop.request("requested");
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.ownsView) this.view.stop();
    this.timers.clear();
    await this.loop.stop();
  }

  private async sync(): Promise<void> {
    this.syncing = true;
    try {
      await this.syncOnce();
    } finally {
      this.syncing = false;
    }
  }

  private async syncOnce(): Promise<void> {
    const started = performance.now();
    const view = this.nodeView();
    const entries = this.view.entries();
    const full = this.forceFull;
    this.forceFull = false;
    const problems: string[] = [];
    let kind: SyncKind = "partial";
    try {
      for (const input of tableInputs(view, this.options, entries)) {
        const next = renderRuleset(input, this.applied.get(input.family));
        problems.push(...next.problems.map((p) => p.message));
        if ((await this.applyFamily(input.family, next, full)) === "full") kind = "full";
      }
    } catch (e) {
      // What the kernel has is unknown now: the retry replaces every table in full.
      this.applied.clear();
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

  /** Brings the kernel's table of `family` to `next`: in part where it can, else in full. */
  private async applyFamily(family: NftFamily, next: RenderedRuleset, full: boolean): Promise<SyncKind> {
    const prev = full ? undefined : this.applied.get(family);
    const plan = prev === undefined ? fullSync(next) : diffRulesets(prev, next);
    if (plan.kind !== "none") {
      try {
        await this.kernel.applyTransaction(plan.text);
      } catch (e) {
        if (plan.kind === "full") throw e;
        // The kernel is not what we think it is (someone changed the table): replace it.
        this.m.errors.inc({ kind: "nft" });
        this.log.warn("partial sync refused; replacing the table in full", { family, error: e });
        this.applied.delete(family);
        await this.kernel.applyTransaction(fullSync(next).text);
        this.applied.set(family, next);
        return "full";
      }
    }
    this.applied.set(family, next);
    return plan.kind === "full" ? "full" : "partial";
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
      const result = await this.kernel.deleteFlowEntries(flow);
      if ("error" in result) {
        this.m.errors.inc({ kind: "conntrack" });
        this.log.warn("could not delete stale UDP conntrack entries", { flow, error: result.error });
      } else if (result.deleted > 0) {
        this.m.stale.inc(result.deleted);
        this.log.info("deleted stale UDP conntrack entries", { flow, entries: result.deleted });
      }
    }
  }

  /** A table flushed or deleted behind our back is put back in full. */
  private async checkTables(): Promise<void> {
    if (this.syncing) return;
    try {
      for (const family of this.applied.keys()) {
        if (!(await this.kernel.tableExists(family))) {
          this.log.warn("podnet's nftables table is missing; replacing it in full", { family });
          this.forceFull = true;
          this.loop.request("table missing");
          return;
        }
      }
    } catch (e) {
      this.m.errors.inc({ kind: "nft" });
      this.log.warn("could not check podnet's nftables tables", { error: e });
    }
  }
}

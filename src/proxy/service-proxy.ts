/**
 * The service proxy of one node (part of the agent): follows Services and pod records through
 * the node's ClusterView (cluster-view.ts: the agent's one list+watch, shared with its DNS; the
 * proxy opens a view of its own when given a Store), renders this node's nftables tables
 * per family (proxy-state.ts, which takes only the Services the view says changed) and applies
 * them through the kernel (proxy-kernel.ts) — the whole table on the first sync, after a failure
 * and when the table went missing, otherwise only what changed. Bursts of events are coalesced
 * into one sync (daemon/sync-loop.ts). After a sync, UDP conntrack entries towards endpoints
 * that are gone are deleted (stale-flow-cleaner.ts).
 *
 * The tables are left in place on stop: Services keep working while the agent restarts, and the
 * next start replaces them in full.
 */

import { BurstCollector } from "../daemon/burst-collector.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { SyncLoop } from "../daemon/sync-loop.ts";
import { Timers } from "../daemon/timers.ts";
import { PROXY_TABLE_NAMES } from "../linux/nft-table-family.ts";
import type { Store } from "../store/store.ts";
import { ClusterView, type ViewChange } from "./cluster-view.ts";
import type { SyncPlan } from "./diff.ts";
import { dropTableText, type NftFamily, type RenderProblem } from "./nft-model.ts";
import { PendingChanges } from "./pending-changes.ts";
import type { ProxyKernel } from "./proxy-kernel.ts";
import { ProxyState } from "./proxy-state.ts";
import { StaleFlowCleaner } from "./stale-flow-cleaner.ts";
import { SyncedServices } from "./synced-services.ts";
import type { TableContent } from "./table-content.ts";
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

/** The most Services one sync takes (pending-changes.ts). */
const MAX_CHANGES_PER_SYNC = 200;

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
      "Service proxy errors by kind (nft, store, conntrack; netlink: a full sync's elements went through nft's parser instead).",
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
  for (const kind of ["nft", "store", "conntrack", "netlink"]) m.errors.inc({ kind }, 0);
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
  /** The desired table per family; each knows whether the kernel holds it. */
  private readonly states = new Map<NftFamily, ProxyState>();
  private readonly synced = new SyncedServices();
  private readonly m: ReturnType<typeof proxyMetrics>;
  private readonly loop: SyncLoop;
  private readonly timers = new Timers();
  /** Keys of the Services the view changed since the last sync. */
  private readonly pending = new PendingChanges(MAX_CHANGES_PER_SYNC);
  /** When a burst of 50 changes or more ends, or every 400 of a long one; at most every 200 ms. */
  private readonly collector = new BurstCollector(50, 400, 200);
  private readonly cleaner: StaleFlowCleaner;
  /** Families whose table a previous run may have left (checked once, at the first sync). */
  private readonly unowned = new Set<NftFamily>(["ip", "ip6"]);
  private lastProblems: readonly (readonly RenderProblem[])[] = [];
  private forceFull = false;
  private syncing = false;
  /** Syncs started: a table check that saw one start during its read does not judge the tables. */
  private syncs = 0;

  constructor(
    source: Store | ClusterView,
    private readonly options: ProxyOptions,
    private readonly nodeView: () => NodeView,
    private readonly log: Logger,
    metrics: Metrics,
    private readonly kernel: ProxyKernel,
  ) {
    this.m = proxyMetrics(metrics);
    this.cleaner = new StaleFlowCleaner(kernel, log, {
      error: () => this.m.errors.inc({ kind: "conntrack" }),
      deleted: (n) => this.m.stale.inc(n),
    });
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
      changed: (change, services) => {
        if (services === undefined) this.pending.relisted();
        else this.pending.changed(services);
        this.loop.request(CHANGE_REASONS[change]);
      },
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
    await this.kernel.close();
  }

  private async sync(): Promise<void> {
    this.syncs++;
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
    const full = this.forceFull;
    this.forceFull = false;
    const changes = this.pending.take(this.view, this.synced);
    if (this.pending.more) this.loop.request("more Service changes");
    const problems: (readonly RenderProblem[])[] = [];
    let kind: SyncKind = "partial";
    try {
      const inputs = tableInputs(view, this.options, this.synced.anyIPv6);
      for (const input of inputs) this.unowned.delete(input.family);
      for (const family of this.states.keys())
        if (!inputs.some((i) => i.family === family)) await this.dropTable(family);
      for (const family of this.unowned)
        if ((await this.kernel.proxyTables(family)).length > 0) await this.dropTable(family);
      this.unowned.clear();
      for (const input of inputs) {
        let state = this.states.get(input.family);
        let plan: SyncPlan;
        if (state === undefined) {
          state = new ProxyState(input.family);
          this.states.set(input.family, state);
          plan = state.updateAll(input, this.synced.all());
        } else {
          if (full) state.markUnknown();
          plan = state.update(
            input,
            changes.map(([key, , after]) => [key, after] as const),
          );
        }
        problems.push(state.problems);
        if ((await this.apply(state, plan)) === "full") kind = "full";
      }
    } catch (e) {
      // What the kernel has is unknown now, and a family may not have taken these changes: the
      // retry builds every table again from the synced Services and replaces it in full. The
      // stale flows of these changes are deleted after the sync that works.
      for (const family of this.states.keys()) this.unowned.add(family);
      this.states.clear();
      this.cleaner.defer(changes);
      throw e;
    }
    this.m.syncs.inc({ kind });
    this.m.seconds.observe((performance.now() - started) / 1000);
    this.m.services.set(this.synced.size);
    this.m.endpoints.set(this.synced.endpointCount);
    this.reportProblems(problems);
    await this.cleaner.clean(changes);
    this.collector.after(changes.length, this.pending.more);
  }

  /** Counts the problems and logs them when they changed (each state keeps its list until then). */
  private reportProblems(lists: readonly (readonly RenderProblem[])[]): void {
    const same =
      lists.length === this.lastProblems.length && lists.every((l, i) => l === this.lastProblems[i]);
    this.lastProblems = lists;
    if (same) return;
    const problems = lists.flat().map((p) => p.message);
    this.m.problems.set(problems.length);
    if (problems.length > 0) this.log.warn("some Service input was skipped", { problems });
  }

  /**
   * Deletes the table of a family the node no longer needs (its last IPv6 Service went, or a
   * previous run had one): its rules would keep sending the old ClusterIPs to old endpoints.
   */
  private async dropTable(family: NftFamily): Promise<void> {
    // Both names: a swap cut short leaves the one being built beside the one in use.
    const text = PROXY_TABLE_NAMES.map((name) => dropTableText(family, name)).join("");
    await this.kernel.applyTransaction(text, "full");
    this.states.delete(family);
    this.unowned.delete(family);
  }

  /** Applies one family's sync: in part where it can, else (or when the part is refused) in full. */
  private async apply(state: ProxyState, plan: SyncPlan): Promise<SyncKind> {
    if (plan.kind === "none") return "partial";
    if (plan.kind === "full") {
      await this.replace(state, plan.content);
      return "full";
    }
    try {
      await this.kernel.applyTransaction(plan.text, "partial");
      return "partial";
    } catch (e) {
      // The kernel is not what we think it is (someone changed the table): replace it.
      this.m.errors.inc({ kind: "nft" });
      this.log.warn("partial sync refused; replacing the table in full", { family: state.family, error: e });
      await this.replace(state, state.fullSync().content);
      return "full";
    }
  }

  /** Replaces a family's table in full; partial syncs change the new one from then on. */
  private async replace(state: ProxyState, content: TableContent): Promise<void> {
    const outcome = await this.kernel.replaceTable(content);
    state.useTable(outcome.table);
    if (outcome.fallback === undefined) return;
    this.m.errors.inc({ kind: "netlink" });
    this.log.warn("full sync: nft parsed the elements (slower)", {
      family: state.family,
      table: outcome.table,
      reason: outcome.fallback,
    });
  }

  /** A table flushed or deleted behind our back is put back in full. */
  private async checkTables(): Promise<void> {
    if (this.syncing) return;
    const syncs = this.syncs;
    try {
      for (const [family, state] of this.states) {
        const present = await this.kernel.proxyTables(family);
        // A sync that started meanwhile may have swapped the table under another name.
        if (this.syncing || this.syncs !== syncs) return;
        if (!present.includes(state.table)) {
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

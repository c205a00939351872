/**
 * The peer-route loop: follows the node records in the datastore (a watch, kept open by the
 * watch keeper, plus a periodic resync that repairs drift) and brings this node's routes, VXLAN
 * neighbours and FDB entries in line with every other node's blocks (with host-gw and bgp, it
 * deletes a VXLAN device an earlier backend left). Events coalesce into one sync; a failed sync
 * is retried with backoff.
 */
import { listBlockLeases } from "../cluster/block-leases.ts";
import { readClusterConfig } from "../cluster/cluster-config-store.ts";
import { listNodes, watchNodes } from "../cluster/node-registry.ts";
import type { Logger } from "../daemon/log.ts";
import { SyncLoop } from "../daemon/sync-loop.ts";
import { Timers } from "../daemon/timers.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import { blockProblem } from "../ipam/block-allocator.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import type { Store } from "../store/store.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import type { NodeRegistration } from "./node-registration.ts";
import { planPeerRoutes, usesVxlan } from "./peer-routes.ts";
import { syncRoutes } from "./route-sync.ts";
import type { UplinkState } from "./uplink.ts";

export interface PeerRouteHooks {
  readonly uplink: () => UplinkState;
  /** Local set-up first on every sync: a VXLAN device or forwarding removed by hand is put back. */
  readonly programLocal: () => void;
  /** The cluster's address plan changed (a pod range added): the proxy renders it too. */
  readonly configChanged: (config: ClusterConfig) => void;
  /** `auto` with BGP sessions: direct and VXLAN routes go in at the backup metric. */
  readonly bgpBackup: () => boolean;
  /** After each successful route sync (readiness, the IPAM report); a rejection fails the sync. */
  readonly synced: () => Promise<void>;
}

const addressRanges = (c: ClusterConfig) => [...c.clusterCidrs, ...c.serviceCidrs].map(formatPrefix).join();

export class PeerRouteLoop {
  private readonly loop: SyncLoop;
  private readonly watch: WatchKeeper;
  private readonly timers = new Timers();

  constructor(
    private readonly store: Store,
    private readonly o: AgentOptions,
    private readonly registration: NodeRegistration,
    /** The cluster config this node follows; replaced when the datastore has a newer one. */
    private config: ClusterConfig,
    private readonly hooks: PeerRouteHooks,
    private readonly log: Logger,
    private readonly m: AgentMetrics,
  ) {
    this.loop = new SyncLoop({
      sync: (reason) => this.sync(reason),
      failed: (error, reason, retryInMs) => {
        this.m.errors.inc({ kind: "sync" });
        this.log.error("route sync failed; retrying", { reason, error, retryInMs });
      },
      firstRetryMs: 500,
      maxRetryMs: o.resyncSeconds * 1000,
    });
    this.watch = new WatchKeeper({
      open: async (failed) => {
        const { revision } = await listNodes(this.store);
        return [watchNodes(this.store, revision + 1, () => this.request("peers changed"), failed)];
      },
      reopened: () => this.request("watch re-established"),
      failed: (e) => {
        this.m.errors.inc({ kind: "store" });
        this.log.error("node watch failed; re-establishing it (periodic resyncs go on meanwhile)", {
          error: e,
        });
      },
    });
  }

  get clusterConfig(): ClusterConfig {
    return this.config;
  }

  /** Watches the peers and runs the first sync (its failure is retried, not thrown). */
  async start(): Promise<void> {
    await this.watch.open();
    this.timers.every(this.o.resyncSeconds * 1000, () => this.request("periodic resync"));
    await this.loop.flush("start");
  }

  request(reason: string): void {
    this.loop.request(reason);
  }

  async stop(): Promise<void> {
    this.timers.clear();
    this.watch.close();
    await this.loop.stop();
  }

  private async sync(reason: string): Promise<void> {
    const started = performance.now();
    try {
      await this.syncOnce(reason);
    } finally {
      this.m.syncSeconds.observe((performance.now() - started) / 1000);
    }
  }

  private async syncOnce(reason: string): Promise<void> {
    const uplink = this.hooks.uplink();
    this.hooks.programLocal();
    const [{ nodes, invalid }, { leases }, latestConfig] = await Promise.all([
      listNodes(this.store),
      listBlockLeases(this.store),
      readClusterConfig(this.store),
    ]);
    // The plan only grows (a cluster CIDR added later): peers' blocks in it must be routable.
    if (latestConfig) {
      const changed = addressRanges(latestConfig) !== addressRanges(this.config);
      this.config = latestConfig;
      if (changed) this.hooks.configChanged(latestConfig);
    }
    for (const i of invalid) this.log.warn("ignoring an unreadable node record", { problem: i });
    const mine = nodes.find((n) => n.name === this.o.nodeName);
    if (!mine || JSON.stringify(mine) !== JSON.stringify(this.registration.record())) {
      // Our own record went missing or stale (a write lost while the datastore was away).
      await this.registration.announce();
      this.log.warn("re-announced this node's record", { wasMissing: !mine });
    }
    const owners = new Map(leases.map((l) => [formatPrefix(l.block), l.node]));
    const plan = planPeerRoutes(
      {
        name: this.o.nodeName,
        backend: this.o.backend,
        connected: uplink.connected,
        ownBlocks: this.registration.blocks,
        bgpBackup: this.hooks.bgpBackup(),
        blockProblem: (peer, block) => {
          const problem = blockProblem(this.config, block);
          if (problem !== undefined) return `it is not a node block of this cluster: ${problem}`;
          const owner = owners.get(formatPrefix(block));
          return owner === peer
            ? undefined
            : `the datastore leases it to ${owner ?? "nobody"}, not to ${peer}`;
        },
      },
      nodes,
    );
    const outcome = syncRoutes(plan.routes, uplink.name, usesVxlan(this.o.backend));
    if (outcome.removedVxlan)
      this.log.info("deleted the VXLAN device an earlier backend left; this backend does not tunnel", {
        backend: this.o.backend,
      });
    this.m.syncs.inc();
    this.m.changes.inc(outcome.changes);
    this.m.peers.reset();
    this.m.peers.set({ route: "direct" }, plan.routes.filter((r) => r.kind === "direct").length);
    this.m.peers.set({ route: "vxlan" }, plan.routes.filter((r) => r.kind === "vxlan").length);
    this.m.peers.set({ route: "bgp" }, plan.routes.filter((r) => r.kind === "bgp").length);
    this.m.peers.set({ route: "skipped" }, plan.skipped.length);
    for (const s of plan.skipped) this.log.warn("peer block not routed", { ...s });
    for (const f of outcome.failures) {
      this.m.errors.inc({ kind: "route" });
      this.log.error("the kernel refused a route change; the other peers are programmed", { failure: f });
    }
    if (outcome.changes > 0)
      this.log.info("routes synchronised", { reason, changes: outcome.changes, peers: nodes.length - 1 });
    await this.hooks.synced();
  }
}

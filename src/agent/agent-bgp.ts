/**
 * The agent's BGP: follows the cluster's peering config (`/podnet/bgp`, listed and watched, kept
 * open by a WatchKeeper as proxy/cluster-view.ts does), runs the node's BgpSpeaker (and so BIRD)
 * with the bgp and auto backends, feeds it the node's blocks and uplink on every change, turns
 * its status into metrics and into the node's status record (`/podnet/bgp-status/NODE`, under
 * the node lease, written when it changes; deleted when no peer selects the node any more and on
 * a clean stop), and tells the agent when what it routes changed: `auto` keeps its own routes at
 * a backup metric while the node has BGP sessions, and the proxy leaves the VPC (bgpVpcCidrs) out
 * of masquerade while the node announces its blocks. An invalid config record is logged and the
 * last good one kept.
 */
import { errorText } from "../base/error-text.ts";
import type { BgpConfig } from "../cluster/bgp-config.ts";
import { DEFAULT_BGP_CONFIG } from "../cluster/bgp-config.ts";
import { BgpConfigError } from "../cluster/bgp-config-error.ts";
import { type BgpConfigEvent, readBgpConfigAt, watchBgpConfig } from "../cluster/bgp-config-store.ts";
import { deleteBgpStatusRecord, putBgpStatusRecord } from "../cluster/bgp-status-records.ts";
import { BGP_KEY } from "../cluster/keys.ts";
import type { Logger } from "../daemon/log.ts";
import { WatchKeeper } from "../daemon/watch-keeper.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { bgpVpcCidrs } from "../proxy/masquerade-cidrs.ts";
import type { Store, Watch } from "../store/store.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import { clearBgpLeftovers } from "./bgp-leftovers.ts";
import { recordBgpMetrics } from "./bgp-metrics.ts";
import { BgpSpeaker, type BirdRunner } from "./bgp-speaker.ts";
import type { BgpStatus } from "./bgp-status.ts";
import { bgpRecordSignature, bgpStatusRecord } from "./bgp-status-record.ts";
import type { UplinkState } from "./uplink.ts";

export interface AgentBgpHooks {
  readonly blocks: () => readonly IPPrefix[];
  readonly uplink: () => UplinkState;
  /** The node's liveness lease: the status record goes with it. */
  readonly leaseId: () => string;
  /** Whether the node peers, or the VPC, changed: peer routes and the proxy resync. */
  readonly routingChanged: (reason: string) => void;
}

/** `published` when the datastore may hold a record of ours, but not which: never a signature. */
const MAYBE_WRITTEN = "";

export class AgentBgp {
  private readonly watch: WatchKeeper;
  private speaker: BgpSpeaker | undefined;
  private config: BgpConfig | undefined;
  private last: BgpStatus | undefined;
  /** The signature of the record last written; undefined when there is none of ours. */
  private published: string | undefined;
  private publishing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly o: AgentOptions,
    private readonly cluster: ClusterConfig,
    private readonly hooks: AgentBgpHooks,
    private readonly log: Logger,
    private readonly m: AgentMetrics,
    /** Tests: a fake BIRD, a faster status poll. */
    private readonly speakerOptions: {
      readonly runner?: BirdRunner;
      readonly statusIntervalMs?: number;
    } = {},
  ) {
    this.watch = new WatchKeeper({
      open: async (failed) => [await this.list(failed)],
      reopened: () => this.update("BGP config watch re-established"),
      failed: (e) => {
        this.m.errors.inc({ kind: "store" });
        this.log.error("BGP config watch failed; re-establishing it", { error: errorText(e) });
      },
    });
  }

  /** The bgp and auto backends run BIRD when some peer selects the node. */
  get speaks(): boolean {
    return this.o.backend === "bgp" || this.o.backend === "auto";
  }

  /** BIRD runs sessions for this node (some peer selects it). */
  get peering(): boolean {
    return this.speaker?.status.enabled ?? false;
  }

  /** `auto` with BGP sessions: podnet's direct and VXLAN routes go under BIRD's. */
  get backupRoutes(): boolean {
    return this.o.backend === "auto" && this.peering;
  }

  get status(): BgpStatus | undefined {
    return this.speaker?.status;
  }

  /** Destinations that see pods' own addresses: the VPC, while this node announces its blocks. */
  vpcCidrs(): string[] {
    if (!this.peering) return [];
    const networks = [...new Set(this.hooks.uplink().connected.map(formatPrefix))];
    return bgpVpcCidrs(this.config, networks);
  }

  /**
   * Reads and watches the config; with a speaking backend, BIRD is configured before it returns.
   * With another (or when no peer selects the node), what a BGP agent left on the node is cleared
   * first (bgp-leftovers.ts).
   */
  async start(): Promise<void> {
    if (!this.speaks) await this.clearLeftovers();
    else {
      this.speaker = new BgpSpeaker({
        nodeName: this.o.nodeName,
        stateDir: this.o.bgpStateDir,
        netns: null,
        clusterCidrs: this.cluster.clusterCidrs,
        nodeBlockLength: this.cluster.nodeBlockLength,
        log: this.log,
        onStatus: (status) => this.statusChanged(status),
        // No peer selects the node: what a BIRD of an earlier agent left goes as with host-gw.
        onIdle: () => this.clearLeftovers(),
        ...this.speakerOptions,
      });
    }
    await this.watch.open();
    this.update("start");
    await this.speaker?.flush();
  }

  /** Blocks, node IPs or the config changed: the speaker re-renders (changes coalesce). */
  update(reason: string): void {
    if (this.stopped || this.speaker === undefined) return;
    const uplink = this.hooks.uplink();
    this.speaker.update(
      {
        config: this.config ?? DEFAULT_BGP_CONFIG,
        blocks: this.hooks.blocks(),
        uplink: { name: uplink.name, addresses: uplink.addresses, connected: uplink.connected },
      },
      reason,
    );
  }

  /** The node lease was lost and taken anew: the record under the old one is gone. */
  republish(): void {
    this.published = undefined;
    if (this.last?.enabled) this.publish(this.last);
  }

  /** Stops BIRD (graceful when the config enables graceful restart) and deletes the status record. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watch.close();
    await this.speaker?.stop();
    await this.publishing;
    if (this.published === undefined) return;
    try {
      await deleteBgpStatusRecord(this.store, this.o.nodeName);
    } catch (e) {
      this.log.warn("could not delete the node's BGP status record; it goes with the node lease", {
        error: errorText(e),
      });
    }
  }

  private async clearLeftovers(): Promise<void> {
    try {
      const { retiredBird, deletedRoutes } = await clearBgpLeftovers(
        this.o.bgpStateDir,
        this.cluster.clusterCidrs,
      );
      if (retiredBird || deletedRoutes.length > 0)
        this.log.warn("cleared what an earlier bgp agent left; no BIRD runs here now", {
          backend: this.o.backend,
          retiredBird,
          deletedRoutes,
        });
    } catch (e) {
      this.m.errors.inc({ kind: "bgp" });
      this.log.error("could not clear what an earlier bgp agent left on the node", { error: errorText(e) });
    }
  }

  private async list(failed: (e: Error) => void): Promise<Watch> {
    let revision: number;
    try {
      const read = await readBgpConfigAt(this.store);
      revision = read.revision;
      this.setConfig(read.config, "BGP config listed");
    } catch (e) {
      if (!(e instanceof BgpConfigError)) throw e;
      this.invalid(e.message);
      revision = (await this.store.list(BGP_KEY)).revision;
    }
    return watchBgpConfig(this.store, revision + 1, (events) => this.events(events), failed);
  }

  private events(events: readonly BgpConfigEvent[]): void {
    for (const ev of events) {
      if (ev.type === "put") this.setConfig(ev.config, "BGP config changed");
      else if (ev.type === "delete") this.setConfig(undefined, "BGP config deleted");
      else this.invalid(ev.reason);
    }
  }

  private invalid(reason: string): void {
    this.m.errors.inc({ kind: "bgp" });
    this.log.error("ignoring an invalid BGP config record; keeping the last good one", { reason });
  }

  private setConfig(config: BgpConfig | undefined, reason: string): void {
    if (JSON.stringify(config) === JSON.stringify(this.config)) return;
    this.config = config;
    this.log.info(reason, { peers: config?.peers.map((p) => p.name) ?? [] });
    this.update(reason);
    // The VPC may have changed even where this node does not peer.
    this.hooks.routingChanged(reason);
  }

  private statusChanged(status: BgpStatus): void {
    const previous = this.last;
    this.last = status;
    recordBgpMetrics(this.m, status, previous);
    if ((previous?.enabled ?? false) !== status.enabled)
      this.hooks.routingChanged(status.enabled ? "BGP sessions configured" : "no BGP sessions");
    // The record says what the node's sessions are while it peers; when no peer selects it
    // any more (the config deleted or changed), there is no record rather than a stale one.
    if (status.enabled) this.publish(status);
    else if (this.published !== undefined) this.unpublish();
  }

  private unpublish(): void {
    if (this.stopped) return; // stop() deletes it
    this.published = undefined;
    this.publishing = this.publishing.then(async () => {
      try {
        await deleteBgpStatusRecord(this.store, this.o.nodeName);
      } catch (e) {
        // Deleted at the next status change, or by stop(), or with the node lease.
        if (this.published === undefined) this.published = MAYBE_WRITTEN;
        this.m.errors.inc({ kind: "bgp" });
        this.log.warn("could not delete the node's BGP status record", { error: errorText(e) });
      }
    });
  }

  private publish(status: BgpStatus): void {
    if (this.stopped) return;
    const record = bgpStatusRecord(this.o.nodeName, status, new Date());
    const signature = bgpRecordSignature(record);
    if (signature === this.published) return;
    this.published = signature;
    this.publishing = this.publishing.then(async () => {
      try {
        await putBgpStatusRecord(this.store, record, this.hooks.leaseId());
      } catch (e) {
        // Written again at the next poll (or deleted, if the node stops peering meanwhile).
        if (this.published === signature) this.published = MAYBE_WRITTEN;
        this.m.errors.inc({ kind: "bgp" });
        this.log.warn("could not publish the node's BGP status", { error: errorText(e) });
      }
    });
  }
}

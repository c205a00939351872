/**
 * The node agent: registers the node, leases its pod block(s), writes the CNI conflist, keeps
 * routes to every other node's blocks (host-gw, vxlan or auto), follows peers and its own node
 * IP, and marks the node ready once its network is programmed. Every timer, watch and server is
 * disposed on stop (SIGTERM). Errors in the loops are logged, counted and retried with backoff.
 */
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { claimBlocks, listBlockLeases } from "../cluster/block-leases.ts";
import { readClusterConfig } from "../cluster/cluster-config-store.ts";
import { publishIpamReport } from "../cluster/ipam-report.ts";
import type { Backend, NodeRecord } from "../cluster/node-record.ts";
import { announceNode, listNodes, watchNodes } from "../cluster/node-registry.ts";
import { blockProblem } from "../ipam/block-allocator.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { ensureSysctl } from "../linux/sysctl.ts";
import { type ProxyOptions, ServiceProxy } from "../proxy/service-proxy.ts";
import type { Store, Watch } from "../store/store.ts";
import { LeaseNotFoundError } from "../store/store.ts";
import { loadPreviousBlocks, saveBlocks } from "./agent-state.ts";
import { writeNodeConflist } from "./cni-config-writer.ts";
import { localIpamReport } from "./local-ipam.ts";
import type { Logger } from "./log.ts";
import { Registry } from "./metrics.ts";
import { planPeerRoutes, usesVxlan } from "./peer-routes.ts";
import { PodPublisher } from "./pod-publisher.ts";
import { syncRoutes } from "./route-sync.ts";
import type { UplinkState } from "./uplink.ts";
import { readUplink } from "./uplink.ts";
import { ensureVxlanDevice, VXLAN_OVERHEAD_V4, VXLAN_OVERHEAD_V6 } from "./vxlan-device.ts";

export interface AgentOptions {
  readonly nodeName: string;
  readonly backend: Backend;
  readonly uplink: string;
  readonly cniConfDir: string;
  readonly cniNetwork: string;
  /** How pods attach on this node (the plugin's mode in the written conflist). */
  readonly cniMode: "bridge" | "ptp";
  /** IPAM state and the readiness marker live here (default /run/podnet). */
  readonly stateDir: string;
  /** TTL of the node's liveness lease (its record): peers drop its routes this long after it dies. */
  readonly leaseTtlSeconds: number;
  /**
   * TTL of the lease its blocks hang on: the grace period. A node gone (or cut off) for less
   * keeps its blocks, so its pods keep their addresses; past it, the blocks are released.
   */
  readonly blockGraceSeconds: number;
  readonly resyncSeconds: number;
  /** How often the uplink's addresses are compared with what was announced. */
  readonly addressCheckSeconds: number;
  /** The service proxy's settings; undefined runs the agent without it (another proxy is used). */
  readonly proxy: ProxyOptions | undefined;
}

/** A VTEP MAC derived from the node name: stable across restarts, locally administered. */
export function vtepMacFor(nodeName: string): string {
  const d = createHash("sha256").update(`vtep\0${nodeName}`).digest();
  const b = [...d.subarray(0, 6)];
  b[0] = ((b[0] ?? 0) & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}

function sameAddresses(a: readonly IPAddress[], b: readonly IPAddress[]): boolean {
  return a.length === b.length && a.every((x, i) => formatIP(x) === formatIP(b[i] as IPAddress));
}

export class Agent {
  readonly metrics = new Registry();
  private readonly m = {
    blocks: this.metrics.gauge("podnet_agent_blocks", "Pod blocks leased by this node (1 per block)."),
    peers: this.metrics.gauge(
      "podnet_agent_peer_routes",
      "Peer blocks by how they are reached (direct, vxlan, skipped).",
    ),
    syncs: this.metrics.counter("podnet_agent_route_syncs_total", "Route synchronisations run."),
    changes: this.metrics.counter(
      "podnet_agent_route_changes_total",
      "Kernel changes made by route synchronisations.",
    ),
    syncSeconds: this.metrics.histogram(
      "podnet_agent_route_sync_duration_seconds",
      "Duration of one route synchronisation.",
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
    errors: this.metrics.counter("podnet_agent_errors_total", "Errors by kind (store, sync, lease, uplink)."),
    ready: this.metrics.gauge("podnet_agent_ready", "1 once the node's network is programmed."),
    nodeIpChanges: this.metrics.counter(
      "podnet_agent_node_ip_changes_total",
      "Node IP changes detected and announced.",
    ),
    allocations: this.metrics.gauge("podnet_agent_allocations", "Pod addresses allocated, per block."),
    orphaned: this.metrics.gauge(
      "podnet_agent_orphaned_allocations",
      "Allocations whose pod has no interface left, per block.",
    ),
  };
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private watch: Watch | undefined;
  private leaseId = "";
  private blockLeaseId = "";
  private lastReport = "";
  private blocks: IPPrefix[] = [];
  private uplinkState: UplinkState | undefined;
  private syncQueued = false;
  private syncRunning = false;
  private stopped = false;
  private ready = false;
  private retryDelayMs = 500;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private firstSync: Promise<void> | undefined;
  private announcedAddresses: readonly IPAddress[] = [];
  private checkingUplink = false;
  private reregistering = false;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private rewatchTimer: ReturnType<typeof setTimeout> | undefined;
  private pods: PodPublisher | undefined;
  private proxy: ServiceProxy | undefined;

  constructor(
    private readonly store: Store,
    private config: ClusterConfig,
    private readonly options: AgentOptions,
    private readonly log: Logger,
  ) {
    // Series exist from the first scrape, so rate() and alerts on them work before any error.
    for (const kind of ["store", "sync", "lease", "uplink", "route"]) this.m.errors.inc({ kind }, 0);
    this.m.ready.set(0);
  }

  get readyFile(): string {
    return `${this.options.stateDir}/ready`;
  }

  get leasedBlocks(): readonly IPPrefix[] {
    return this.blocks;
  }

  private record(): NodeRecord {
    return {
      name: this.options.nodeName,
      nodeIPs: (this.uplinkState?.addresses ?? []).map(formatIP),
      blocks: this.blocks.map(formatPrefix),
      backend: this.options.backend,
      vtepMac: vtepMacFor(this.options.nodeName),
    };
  }

  private podMtu(uplink: UplinkState): number {
    if (!usesVxlan(this.options.backend)) return uplink.mtu;
    const v6Underlay = !uplink.addresses.some((a) => a.family === 4);
    // With `auto` some peers are reached through the tunnel, so every pod gets the tunnel's MTU.
    return uplink.mtu - (v6Underlay ? VXLAN_OVERHEAD_V6 : VXLAN_OVERHEAD_V4);
  }

  private programLocal(uplink: UplinkState): void {
    const families = new Set(this.blocks.map((b) => b.family));
    if (families.has(4)) ensureSysctl("net.ipv4.ip_forward", "1");
    if (families.has(6)) ensureSysctl("net.ipv6.conf.all.forwarding", "1");
    if (usesVxlan(this.options.backend)) {
      const local = uplink.addresses.find((a) => a.family === 4) ?? uplink.addresses[0];
      if (!local) throw new Error(`Uplink "${uplink.name}" has no address to carry VXLAN traffic`);
      ensureVxlanDevice({
        uplink: uplink.name,
        local,
        mac: vtepMacFor(this.options.nodeName),
        mtu: this.podMtu(uplink),
        blocks: this.blocks,
      });
    }
  }

  async start(): Promise<void> {
    const o = this.options;
    // A marker left by an earlier run (killed, never stopped) must not claim readiness now.
    rmSync(this.readyFile, { force: true });
    this.uplinkState = readUplink(o.uplink);
    if (this.uplinkState.addresses.length === 0)
      throw new Error(`Uplink "${o.uplink}" has no global address`);
    const lease = await this.store.grantLease(o.leaseTtlSeconds);
    this.leaseId = lease.id;
    const blockLease = await this.store.grantLease(o.blockGraceSeconds);
    this.blockLeaseId = blockLease.id;
    this.blocks = await claimBlocks(
      this.store,
      this.config,
      o.nodeName,
      this.blockLeaseId,
      loadPreviousBlocks(o.stateDir),
    );
    saveBlocks(o.stateDir, this.blocks);
    for (const b of this.blocks) this.m.blocks.set(1, { block: formatPrefix(b) });
    this.log.info("blocks leased", {
      blocks: this.blocks.map(formatPrefix),
      lease: this.blockLeaseId,
      grace: o.blockGraceSeconds,
    });

    this.programLocal(this.uplinkState);
    const changed = writeNodeConflist({
      confDir: o.cniConfDir,
      network: o.cniNetwork,
      blocks: this.blocks,
      mtu: this.podMtu(this.uplinkState),
      dataDir: o.stateDir,
      readyFile: this.readyFile,
      mode: o.cniMode,
    });
    this.log.info("CNI config written", { dir: o.cniConfDir, changed });
    await announceNode(this.store, this.record(), this.leaseId);
    this.announcedAddresses = this.uplinkState.addresses;
    this.pods = new PodPublisher(this.store, o, () => this.leaseId, this.log, this.metrics);
    this.pods.start();
    if (o.proxy) {
      this.proxy = new ServiceProxy(
        this.store,
        o.proxy,
        () => ({
          nodeName: this.options.nodeName,
          nodeIPs: (this.uplinkState?.addresses ?? []).map(formatIP),
          clusterCidrs: this.config.clusterCidrs.map(formatPrefix),
          serviceCidrs: this.config.serviceCidrs.map(formatPrefix),
        }),
        this.log,
        this.metrics,
      );
      // Not awaited: Services are not a condition of the node's pod network being ready, and
      // the proxy retries on its own until its first sync is applied.
      void this.proxy.start();
    }

    const { revision } = await listNodes(this.store);
    this.watch = watchNodes(
      this.store,
      revision + 1,
      () => this.requestSync("peers changed"),
      (e) => this.watchFailed(e),
    );
    this.firstSync = this.runSync("start");
    this.scheduleRenewal();
    this.timers.push(setInterval(() => this.requestSync("periodic resync"), o.resyncSeconds * 1000));
    this.timers.push(setInterval(() => void this.checkUplink(), o.addressCheckSeconds * 1000));
    await this.firstSync;
  }

  private watchFailed(e: Error): void {
    this.m.errors.inc({ kind: "store" });
    this.log.error("node watch failed; re-establishing it (periodic resyncs go on meanwhile)", { error: e });
    this.rewatch();
  }

  /** Re-lists and watches again from the new revision, after a second; retried until it works. */
  private rewatch(): void {
    if (this.stopped) return;
    this.watch?.close();
    this.watch = undefined;
    if (this.rewatchTimer) return;
    this.rewatchTimer = setTimeout(async () => {
      this.rewatchTimer = undefined;
      if (this.stopped) return;
      try {
        const { revision } = await listNodes(this.store);
        this.watch = watchNodes(
          this.store,
          revision + 1,
          () => this.requestSync("peers changed"),
          (e) => this.watchFailed(e),
        );
        this.requestSync("watch re-established");
      } catch (e) {
        this.watchFailed(e as Error);
      }
    }, 1000);
  }

  /** Many change events coalesce into one sync: at most one runs, at most one waits. */
  requestSync(reason: string): void {
    if (this.stopped) return;
    if (this.syncRunning) {
      this.syncQueued = true;
      return;
    }
    void this.runSync(reason);
  }

  private async runSync(reason: string): Promise<void> {
    this.syncRunning = true;
    const started = performance.now();
    try {
      const uplink = this.uplinkState as UplinkState;
      // Local state first: a VXLAN device or forwarding setting removed by hand is put back too.
      this.programLocal(uplink);
      const [{ nodes, invalid }, { leases }, latestConfig] = await Promise.all([
        listNodes(this.store),
        listBlockLeases(this.store),
        readClusterConfig(this.store),
      ]);
      // The plan only grows (a cluster CIDR added later): peers' blocks in it must be routable.
      if (latestConfig) {
        const cidrs = (c: ClusterConfig) => [...c.clusterCidrs, ...c.serviceCidrs].map(formatPrefix).join();
        if (cidrs(latestConfig) !== cidrs(this.config)) this.proxy?.requestSync();
        this.config = latestConfig;
      }
      for (const i of invalid) this.log.warn("ignoring an unreadable node record", { problem: i });
      const mine = nodes.find((n) => n.name === this.options.nodeName);
      if (!mine || JSON.stringify(mine) !== JSON.stringify(this.record())) {
        // Our own record went missing or stale (a write lost while the datastore was away).
        await announceNode(this.store, this.record(), this.leaseId);
        this.log.warn("re-announced this node's record", { wasMissing: !mine });
      }
      const owners = new Map(leases.map((l) => [formatPrefix(l.block), l.node]));
      const plan = planPeerRoutes(
        {
          name: this.options.nodeName,
          backend: this.options.backend,
          connected: uplink.connected,
          ownBlocks: this.blocks,
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
      const outcome = syncRoutes(plan.routes, uplink.name);
      this.m.syncs.inc();
      this.m.changes.inc({}, outcome.changes);
      this.m.peers.reset();
      this.m.peers.set(plan.routes.filter((r) => r.kind === "direct").length, { route: "direct" });
      this.m.peers.set(plan.routes.filter((r) => r.kind === "vxlan").length, { route: "vxlan" });
      this.m.peers.set(plan.skipped.length, { route: "skipped" });
      for (const s of plan.skipped) this.log.warn("peer block not routed", { ...s });
      for (const f of outcome.failures) {
        this.m.errors.inc({ kind: "route" });
        this.log.error("the kernel refused a route change; the other peers are programmed", { failure: f });
      }
      if (outcome.changes > 0)
        this.log.info("routes synchronised", { reason, changes: outcome.changes, peers: nodes.length - 1 });
      if (!this.ready) this.markReady();
      await this.reportIpam();
      this.retryDelayMs = 500;
    } catch (e) {
      this.m.errors.inc({ kind: "sync" });
      this.log.error("route sync failed; retrying", { reason, error: e, retryInMs: this.retryDelayMs });
      this.scheduleRetry();
    } finally {
      this.m.syncSeconds.observe((performance.now() - started) / 1000);
      this.syncRunning = false;
      if (this.syncQueued && !this.stopped) {
        this.syncQueued = false;
        void this.runSync("coalesced changes");
      }
    }
  }

  /** Publishes the node's address usage for `podnet ipam show/check`, and as metrics. */
  private async reportIpam(): Promise<void> {
    const o = this.options;
    const report = localIpamReport(o.nodeName, o.cniNetwork, o.stateDir, this.blocks);
    for (const b of report.blocks) {
      this.m.allocations.set(b.allocated.length, { block: b.block });
      this.m.orphaned.set(b.orphaned.length, { block: b.block });
    }
    // Written only when it changed (and with each new lease): N nodes rewriting an unchanged
    // report on every resync would be a constant write load on the datastore.
    const content = JSON.stringify({ ...report, at: undefined, lease: this.leaseId });
    if (content === this.lastReport) return;
    await publishIpamReport(this.store, report, this.leaseId);
    this.lastReport = content;
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.requestSync("retry");
    }, this.retryDelayMs);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.options.resyncSeconds * 1000);
  }

  private markReady(): void {
    if (this.stopped) return;
    // The pid lets STATUS tell a live agent's marker from one left by a crashed agent.
    const marker = { node: this.options.nodeName, pid: process.pid, at: new Date().toISOString() };
    writeFileSync(this.readyFile, JSON.stringify(marker));
    this.ready = true;
    this.m.ready.set(1);
    this.log.info("node network programmed: ready", { readyFile: this.readyFile });
  }

  /**
   * Renewals run one after another (a timeout chain, not an interval): a renewal still waiting on
   * a slow datastore must not overlap the next one, or two could each find the lease gone and
   * register the node twice under two leases. A failed renewal is retried sooner.
   */
  private scheduleRenewal(delayMs = Math.max(1000, (this.options.leaseTtlSeconds * 1000) / 3)): void {
    if (this.stopped) return;
    this.renewTimer = setTimeout(async () => {
      const ok = await this.renewLease();
      this.scheduleRenewal(ok ? undefined : 1000);
    }, delayMs);
  }

  private async renewLease(): Promise<boolean> {
    if (this.reregistering) return true;
    let ok = true;
    for (const [kind, id] of [
      ["node", this.leaseId],
      ["block", this.blockLeaseId],
    ] as const) {
      try {
        await this.store.keepAlive(id);
      } catch (e) {
        this.m.errors.inc({ kind: "lease" });
        if (e instanceof LeaseNotFoundError && !this.stopped) {
          await this.reregister(kind);
          continue;
        }
        this.log.error("lease renewal failed; retrying in 1 s", { lease: kind, error: e });
        ok = false;
      }
    }
    return ok;
  }

  /**
   * The lease expired under a running agent (a frozen process, the datastore out of reach for
   * longer than the TTL): the node record and blocks went with it and peers dropped the routes
   * to this node. Takes a new lease, claims the same blocks again (still free unless another
   * node took them meanwhile) and announces the node again; the next renewal retries on failure.
   */
  private async reregister(which: "node" | "block"): Promise<void> {
    this.reregistering = true;
    const o = this.options;
    try {
      this.log.warn(`${which} lease expired; registering again`, {
        lease: which === "node" ? this.leaseId : this.blockLeaseId,
      });
      if (which === "node") this.leaseId = (await this.store.grantLease(o.leaseTtlSeconds)).id;
      else this.blockLeaseId = (await this.store.grantLease(o.blockGraceSeconds)).id;
      // Blocks still held under our name are re-attached; lost ones are claimed again (ours first).
      const blocks = await claimBlocks(this.store, this.config, o.nodeName, this.blockLeaseId, this.blocks);
      const before = this.blocks.map(formatPrefix);
      if (blocks.map(formatPrefix).join(",") !== before.join(",")) {
        this.log.error("blocks changed while the lease was lost: pods of the old blocks must be recreated", {
          from: before,
          to: blocks.map(formatPrefix),
        });
        this.blocks = blocks;
        saveBlocks(o.stateDir, blocks);
        this.m.blocks.reset();
        for (const b of blocks) this.m.blocks.set(1, { block: formatPrefix(b) });
        const uplink = this.uplinkState as UplinkState;
        this.programLocal(uplink);
        writeNodeConflist({
          confDir: o.cniConfDir,
          network: o.cniNetwork,
          blocks,
          mtu: this.podMtu(uplink),
          dataDir: o.stateDir,
          readyFile: this.readyFile,
          mode: o.cniMode,
        });
      }
      await announceNode(this.store, this.record(), this.leaseId);
      this.announcedAddresses = this.uplinkState?.addresses ?? [];
      this.log.info("node registered again", { blocks: blocks.map(formatPrefix), lease: this.leaseId });
      this.pods?.requestSync("lease re-acquired");
      this.requestSync("lease re-acquired");
    } catch (e) {
      this.m.errors.inc({ kind: "lease" });
      this.log.error("cannot register the node again yet; retrying", { error: e });
    } finally {
      this.reregistering = false;
    }
  }

  /** Detects a changed node IP (address removed, another added) and re-announces it. */
  async checkUplink(): Promise<void> {
    if (this.checkingUplink) return; // an announce still waiting on the datastore
    this.checkingUplink = true;
    try {
      const now = readUplink(this.options.uplink);
      const before = this.uplinkState as UplinkState;
      if (now.addresses.length === 0) {
        if (before.addresses.length > 0 && !sameAddresses(now.addresses, before.addresses)) {
          this.log.warn("uplink has no global address right now; keeping the announced one", {
            uplink: now.name,
          });
        }
        return;
      }
      if (!sameAddresses(now.addresses, before.addresses)) {
        this.uplinkState = now;
        this.m.nodeIpChanges.inc();
        this.log.info("node IP changed", {
          from: before.addresses.map(formatIP),
          to: now.addresses.map(formatIP),
        });
        this.programLocal(now);
        this.requestSync("node IP changed");
        this.proxy?.requestSync();
      }
      // Announced separately from noticing: when the announce fails (the datastore connection
      // may have been bound to the address that just left), the next check tries again.
      if (!sameAddresses(now.addresses, this.announcedAddresses)) {
        await announceNode(this.store, this.record(), this.leaseId);
        this.announcedAddresses = now.addresses;
        this.log.info("node IP announced", { nodeIPs: now.addresses.map(formatIP) });
      }
    } catch (e) {
      this.m.errors.inc({ kind: "uplink" });
      this.log.error("uplink check or announce failed; retrying", { error: e });
    } finally {
      this.checkingUplink = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.rewatchTimer) clearTimeout(this.rewatchTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.watch?.close();
    await this.pods?.stop();
    await this.proxy?.stop();
    await this.firstSync?.catch(() => undefined);
    // Not ready any more: the runtime must not count on this node's routes being maintained.
    rmSync(this.readyFile, { force: true });
    this.m.ready.set(0);
    this.log.info("agent stopped; blocks stay leased until the lease expires", {
      ttl: this.options.leaseTtlSeconds,
    });
  }
}

/**
 * The node's registration in the datastore: its record (name, node IPs, blocks, backend, VTEP
 * MAC) on a liveness lease, and its blocks on a second lease, the grace period. Keeps both
 * leases alive and, when one is lost under a running agent, registers the node again.
 */
import { claimBlocks } from "../cluster/block-leases.ts";
import type { NodeRecord } from "../cluster/node-record.ts";
import { announceNode } from "../cluster/node-registry.ts";
import type { Logger } from "../daemon/log.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix, prefixEquals } from "../ipnet/prefix.ts";
import type { Store } from "../store/store.ts";
import { LeaseNotFoundError } from "../store/store.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import { setBlockGauge } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import { loadPreviousBlocks, saveBlocks } from "./agent-state.ts";
import { vtepMacFor } from "./local-network.ts";
import { sameAddresses } from "./uplink.ts";

export interface RegistrationHooks {
  /** The cluster's current address plan (blocks are claimed from it). */
  readonly config: () => ClusterConfig;
  /** The node IPs to announce right now. */
  readonly nodeIPs: () => readonly IPAddress[];
  /** Blocks were claimed anew after a lost lease and differ from before: set the node up again. */
  readonly blocksChanged: (blocks: readonly IPPrefix[]) => void;
  /** The node is registered again after a lost lease: everything published must follow. */
  readonly registeredAgain: () => void;
}

export class NodeRegistration {
  private nodeLeaseId = "";
  private blockLeaseId = "";
  private currentBlocks: IPPrefix[] = [];
  private announced: readonly IPAddress[] = [];
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private reregistering = false;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly o: AgentOptions,
    private readonly hooks: RegistrationHooks,
    private readonly log: Logger,
    private readonly m: AgentMetrics,
  ) {}

  /** The node's liveness lease: what it publishes dies with it. */
  get leaseId(): string {
    return this.nodeLeaseId;
  }

  get blocks(): readonly IPPrefix[] {
    return this.currentBlocks;
  }

  record(): NodeRecord {
    return {
      name: this.o.nodeName,
      nodeIPs: this.hooks.nodeIPs().map(formatIP),
      blocks: this.currentBlocks.map(formatPrefix),
      backend: this.o.backend,
      vtepMac: vtepMacFor(this.o.nodeName),
    };
  }

  /** Takes both leases and claims the node's blocks (those it held before first). */
  async leaseBlocks(): Promise<readonly IPPrefix[]> {
    this.nodeLeaseId = (await this.store.grantLease(this.o.leaseTtlSeconds)).id;
    this.blockLeaseId = (await this.store.grantLease(this.o.blockGraceSeconds)).id;
    this.setBlocks(
      await claimBlocks(
        this.store,
        this.hooks.config(),
        this.o.nodeName,
        this.blockLeaseId,
        loadPreviousBlocks(this.o.stateDir),
      ),
    );
    this.log.info("blocks leased", {
      blocks: this.currentBlocks.map(formatPrefix),
      lease: this.blockLeaseId,
      grace: this.o.blockGraceSeconds,
    });
    return this.currentBlocks;
  }

  /** Writes the node's record with the current node IPs. */
  async announce(): Promise<void> {
    const nodeIPs = this.hooks.nodeIPs();
    await announceNode(this.store, this.record(), this.nodeLeaseId);
    this.announced = nodeIPs;
  }

  /** Whether the announced node IPs are the current ones. */
  get announcedCurrent(): boolean {
    return sameAddresses(this.hooks.nodeIPs(), this.announced);
  }

  /**
   * Renewals run one after another (a timeout chain, not an interval): a renewal still waiting on
   * a slow datastore must not overlap the next one, or two could each find the lease gone and
   * register the node twice under two leases. A failed renewal is retried sooner.
   */
  keepAlive(delayMs = Math.max(1000, (this.o.leaseTtlSeconds * 1000) / 3)): void {
    if (this.stopped) return;
    this.renewTimer = setTimeout(async () => {
      const ok = await this.renew();
      this.keepAlive(ok ? undefined : 1000);
    }, delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
  }

  private setBlocks(blocks: IPPrefix[]): void {
    this.currentBlocks = blocks;
    saveBlocks(this.o.stateDir, blocks);
    setBlockGauge(this.m, blocks.map(formatPrefix));
  }

  private async renew(): Promise<boolean> {
    if (this.reregistering) return true;
    let ok = true;
    for (const [kind, id] of [
      ["node", this.nodeLeaseId],
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
    const o = this.o;
    try {
      this.log.warn(`${which} lease expired; registering again`, {
        lease: which === "node" ? this.nodeLeaseId : this.blockLeaseId,
      });
      if (which === "node") this.nodeLeaseId = (await this.store.grantLease(o.leaseTtlSeconds)).id;
      else this.blockLeaseId = (await this.store.grantLease(o.blockGraceSeconds)).id;
      // Blocks still held under our name are re-attached; lost ones are claimed again (ours first).
      const blocks = await claimBlocks(
        this.store,
        this.hooks.config(),
        o.nodeName,
        this.blockLeaseId,
        this.currentBlocks,
      );
      const before = this.currentBlocks;
      const same =
        blocks.length === before.length && blocks.every((b, i) => prefixEquals(b, before[i] as IPPrefix));
      if (!same) {
        this.log.error("blocks changed while the lease was lost: pods of the old blocks must be recreated", {
          from: before.map(formatPrefix),
          to: blocks.map(formatPrefix),
        });
        this.setBlocks(blocks);
        this.hooks.blocksChanged(blocks);
      }
      await this.announce();
      this.log.info("node registered again", { blocks: blocks.map(formatPrefix), lease: this.nodeLeaseId });
      this.hooks.registeredAgain();
    } catch (e) {
      this.m.errors.inc({ kind: "lease" });
      this.log.error("cannot register the node again yet; retrying", { error: e });
    } finally {
      this.reregistering = false;
    }
  }
}

/**
 * Watches the node's uplink for a changed node IP (an address removed, another added): the node
 * is set up for the new address at once and the change announced to the peers — retried on the
 * next check when the datastore does not take it (its connection may have been bound to the
 * address that just left).
 */
import type { Logger } from "../daemon/log.ts";
import { Timers } from "../daemon/timers.ts";
import { formatIP } from "../ipnet/address.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import type { NodeRegistration } from "./node-registration.ts";
import type { UplinkState } from "./uplink.ts";
import { readUplink, sameAddresses } from "./uplink.ts";

export interface UplinkHooks {
  /** The uplink changed: program the node for it and resync whatever depends on node IPs. */
  readonly changed: (uplink: UplinkState) => void;
}

export class UplinkWatch {
  private readonly timers = new Timers();
  private checking = false;

  constructor(
    private readonly name: string,
    private current: UplinkState,
    private readonly registration: NodeRegistration,
    private readonly hooks: UplinkHooks,
    private readonly log: Logger,
    private readonly m: AgentMetrics,
  ) {}

  /** The uplink as last seen with at least one global address. */
  get state(): UplinkState {
    return this.current;
  }

  start(everySeconds: number): void {
    this.timers.every(everySeconds * 1000, () => void this.check());
  }

  stop(): void {
    this.timers.clear();
  }

  async check(): Promise<void> {
    if (this.checking) return; // an announce still waiting on the datastore
    this.checking = true;
    try {
      const now = readUplink(this.name);
      const before = this.current;
      if (now.addresses.length === 0) {
        if (before.addresses.length > 0)
          this.log.warn("uplink has no global address right now; keeping the announced one", {
            uplink: now.name,
          });
        return;
      }
      if (!sameAddresses(now.addresses, before.addresses)) {
        this.current = now;
        this.m.nodeIpChanges.inc();
        this.log.info("node IP changed", {
          from: before.addresses.map(formatIP),
          to: now.addresses.map(formatIP),
        });
        this.hooks.changed(now);
      }
      // Announced separately from noticing: when the announce fails, the next check tries again.
      if (!this.registration.announcedCurrent) {
        await this.registration.announce();
        this.log.info("node IP announced", { nodeIPs: now.addresses.map(formatIP) });
      }
    } catch (e) {
      this.m.errors.inc({ kind: "uplink" });
      this.log.error("uplink check or announce failed; retrying", { error: e });
    } finally {
      this.checking = false;
    }
  }
}

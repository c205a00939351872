/**
 * Deletes the conntrack entries of UDP flows a sync left pointing at endpoints that are gone
 * (stale-flows.ts says which), through the proxy's kernel. The changes of a sync that failed are
 * kept, merged per Service (the first "before", the latest "after"), and cleaned after the next
 * sync that works: what matters is what the kernel had and what it has now, not each step.
 */
import type { Logger } from "../daemon/log.ts";
import type { ProxyKernel } from "./proxy-kernel.ts";
import { newlyServedUdpOf, staleUdpFlowsOf } from "./stale-flows.ts";
import type { EntryChange } from "./synced-services.ts";

export interface CleanerCounts {
  /** A `conntrack -D` failed. */
  error(): void;
  deleted(entries: number): void;
}

export class StaleFlowCleaner {
  private readonly pending = new Map<string, EntryChange>();
  private firstDone = false;

  constructor(
    private readonly kernel: ProxyKernel,
    private readonly log: Logger,
    private readonly counts: CleanerCounts,
  ) {}

  /** Keeps the changes of a sync that did not reach the kernel for the next clean(). */
  defer(changes: readonly EntryChange[]): void {
    for (const [key, before, after] of changes) {
      const was = this.pending.get(key);
      this.pending.set(key, [key, was === undefined ? before : was[1], after]);
    }
  }

  /** Deletes the stale flows of `changes` (and of deferred ones) after a sync that worked. */
  async clean(changes: readonly EntryChange[]): Promise<void> {
    this.defer(changes);
    const merged = [...this.pending.values()];
    this.pending.clear();
    const first = !this.firstDone;
    this.firstDone = true;
    // Not after the first sync: the table of the previous run was in place, and every UDP port
    // would count as newly served (10,000 conntrack runs at start-up for nothing).
    const stale = [...staleUdpFlowsOf(merged), ...(first ? [] : newlyServedUdpOf(merged))];
    for (const flow of stale) {
      const result = await this.kernel.deleteFlowEntries(flow);
      if ("error" in result) {
        this.counts.error();
        this.log.warn("could not delete stale UDP conntrack entries", { flow, error: result.error });
      } else if (result.deleted > 0) {
        this.counts.deleted(result.deleted);
        this.log.info("deleted stale UDP conntrack entries", { flow, entries: result.deleted });
      }
    }
  }
}

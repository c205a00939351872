/** Publishes the node's address usage for `podnet ipam show/check`, and as metrics. */
import { publishIpamReport } from "../cluster/ipam-report.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import type { Store } from "../store/store.ts";
import type { AgentMetrics } from "./agent-metrics.ts";
import type { AgentOptions } from "./agent-options.ts";
import { localIpamReport } from "./local-ipam.ts";

export class IpamReporter {
  private last = "";

  constructor(
    private readonly store: Store,
    private readonly o: AgentOptions,
    private readonly m: AgentMetrics,
  ) {}

  async report(blocks: readonly IPPrefix[], leaseId: string): Promise<void> {
    const report = localIpamReport(this.o.nodeName, this.o.cniNetwork, this.o.stateDir, blocks);
    for (const b of report.blocks) {
      this.m.allocations.set({ block: b.block }, b.allocated.length);
      this.m.orphaned.set({ block: b.block }, b.orphaned.length);
    }
    // Written only when it changed (and with each new lease): N nodes rewriting an unchanged
    // report on every resync would be a constant write load on the datastore.
    const content = JSON.stringify({ ...report, at: undefined, lease: leaseId });
    if (content === this.last) return;
    await publishIpamReport(this.store, report, leaseId);
    this.last = content;
  }
}

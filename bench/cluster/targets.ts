/** What podnet aims for in the cluster benchmark, and how a report is judged (pure): on unrounded values. */

import type { Backend } from "../../src/cluster/node-record.ts";
import { round3 } from "../support/stats.ts";
import type { TargetCheck } from "../support/targets.ts";
import { judge } from "../support/targets.ts";
import type { BgpReport } from "./bgp-report.ts";
import type { ConvergenceReport, LeaseReport } from "./report.ts";

const r3 = (v: number | null): number | null => (v === null ? null : round3(v));

const MB_IN_MIB = 1e6 / 2 ** 20;

export const TARGETS = {
  convergenceMs: { max: 2000, text: "≤ 2000 ms" },
  agentRssMiB: { max: 100 * MB_IN_MIB, text: "≤ 100 MB (95.4 MiB)" },
  hostGwRatio: { min: 0.9, text: "≥ 0.90" },
  vxlanRatio: { min: 0.75, text: "≥ 0.75" },
  bgpConvergenceMs: { max: 2000, text: "≤ 2000 ms" },
  bgpRatio: { min: 0.95, text: "≥ 0.95" },
} as const;

export interface TargetInputs {
  /** What the run set out to measure: a part or backend that failed still gets its target, unmet. */
  readonly requested: {
    readonly leaseAgents: number | undefined;
    readonly leaseRounds: number;
    readonly nodes: number | undefined;
    readonly backends: readonly Backend[];
    readonly throughput: boolean;
    /** The bgp part's cluster size, when it was asked for. */
    readonly bgpNodes: number | undefined;
  };
  readonly leases: LeaseReport | null;
  readonly convergence: readonly ConvergenceReport[];
  /** Unrounded podnet/raw ratios. */
  readonly throughput: { readonly hostGw: number | null; readonly vxlan: number | null } | null;
  readonly bgp: BgpReport | null;
  /** Unrounded bgp/raw routed and vxlan/raw routed across the router. */
  readonly bgpRatios: { readonly bgp: number | null } | null;
}

export function judgeTargets({
  requested,
  leases,
  convergence,
  throughput,
  bgp,
  bgpRatios,
}: TargetInputs): TargetCheck[] {
  const out: TargetCheck[] = [];
  if (requested.leaseAgents !== undefined) {
    const n = requested.leaseAgents;
    const distinct = leases?.perRound.map((r) => r.verification.distinctBlocks) ?? [];
    out.push({
      name: `distinct blocks from ${n} concurrent claims, worst round`,
      target: `= ${n}, verified`,
      value: distinct.length > 0 ? Math.min(...distinct) : null,
      digits: 0,
      met: leases?.allVerified === true && leases.perRound.length === requested.leaseRounds,
    });
  }
  if (requested.nodes !== undefined) {
    for (const backend of requested.backends) {
      const c = convergence.find((x) => x.backend === backend);
      out.push(
        judge(
          `convergence, ${requested.nodes} nodes, ${backend}, ms`,
          c?.convergenceMs ?? null,
          TARGETS.convergenceMs,
          0,
        ),
      );
    }
    const rss = convergence.flatMap((c) => (c.memory.rssMiB ? [c.memory.rssMiB.max] : []));
    const worst = rss.length > 0 ? Math.max(...rss) : null;
    out.push(
      judge(`agent RSS with ${requested.nodes - 1} peers, largest, MiB`, worst, TARGETS.agentRssMiB, 1),
    );
  }
  if (requested.throughput) {
    const ratio = (key: "hostGw" | "vxlan") => throughput?.[key] ?? null;
    out.push(
      judge("pod-to-pod TCP, host-gw / raw", ratio("hostGw"), TARGETS.hostGwRatio, 2, r3(ratio("hostGw"))),
      judge("pod-to-pod TCP, vxlan / raw", ratio("vxlan"), TARGETS.vxlanRatio, 2, r3(ratio("vxlan"))),
    );
  }
  if (requested.bgpNodes !== undefined) {
    const start = bgp?.convergence?.start;
    // The slowest start counts, and a start some kernel never saw fails it.
    const worst = start && start.missing.length === 0 ? (start.allMs?.max ?? null) : null;
    const bgpRatio = bgpRatios?.bgp ?? null;
    out.push(
      judge(
        `bgp convergence, ${requested.bgpNodes} nodes on 2 segments, slowest of ${start?.samples ?? 0} starts, ms`,
        worst,
        TARGETS.bgpConvergenceMs,
        0,
      ),
      judge(
        "pod-to-pod TCP across the router, bgp / raw routed",
        bgpRatio,
        TARGETS.bgpRatio,
        2,
        r3(bgpRatio),
      ),
    );
  }
  return out;
}

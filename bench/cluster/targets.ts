/** The targets and how a report is judged against them (pure): on unrounded values. */

import type { Backend } from "../../src/cluster/node-record.ts";
import { round3 } from "../cni/stats.ts";
import type { ConvergenceReport, LeaseReport } from "./report.ts";

const r3 = (v: number | null): number | null => (v === null ? null : round3(v));

const MB_IN_MIB = 1e6 / 2 ** 20;

export const TARGETS = {
  convergenceMs: { max: 2000, text: "≤ 2000 ms" },
  agentRssMiB: { max: 100 * MB_IN_MIB, text: "≤ 100 MB (95.4 MiB)" },
  hostGwRatio: { min: 0.9, text: "≥ 0.90" },
  vxlanRatio: { min: 0.75, text: "≥ 0.75" },
} as const;

export interface TargetCheck {
  readonly name: string;
  readonly target: string;
  readonly value: number | null;
  /** Decimals worth printing for this value. */
  readonly digits: number;
  readonly met: boolean;
}

export interface TargetInputs {
  /** What the run set out to measure: a part or backend that failed still gets its target, unmet. */
  readonly requested: {
    readonly leaseAgents: number | undefined;
    readonly leaseRounds: number;
    readonly nodes: number | undefined;
    readonly backends: readonly Backend[];
    readonly throughput: boolean;
  };
  readonly leases: LeaseReport | null;
  readonly convergence: readonly ConvergenceReport[];
  /** Unrounded podnet/raw ratios. */
  readonly throughput: { readonly hostGw: number | null; readonly vxlan: number | null } | null;
}

export function judgeTargets({ requested, leases, convergence, throughput }: TargetInputs): TargetCheck[] {
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
      const value = c?.convergenceMs ?? null;
      out.push({
        name: `convergence, ${requested.nodes} nodes, ${backend}, ms`,
        target: TARGETS.convergenceMs.text,
        value,
        digits: 0,
        met: value !== null && value <= TARGETS.convergenceMs.max,
      });
    }
    const rss = convergence.flatMap((c) => (c.memory.rssMiB ? [c.memory.rssMiB.max] : []));
    const worst = rss.length > 0 ? Math.max(...rss) : null;
    out.push({
      name: `agent RSS with ${requested.nodes - 1} peers, largest, MiB`,
      target: TARGETS.agentRssMiB.text,
      value: worst,
      digits: 1,
      met: worst !== null && worst <= TARGETS.agentRssMiB.max,
    });
  }
  if (requested.throughput) {
    const ratio = (key: "hostGw" | "vxlan") => throughput?.[key] ?? null;
    out.push(
      {
        name: "pod-to-pod TCP, host-gw / raw",
        target: TARGETS.hostGwRatio.text,
        value: r3(ratio("hostGw")),
        digits: 2,
        met: (ratio("hostGw") ?? 0) >= TARGETS.hostGwRatio.min,
      },
      {
        name: "pod-to-pod TCP, vxlan / raw",
        target: TARGETS.vxlanRatio.text,
        value: r3(ratio("vxlan")),
        digits: 2,
        met: (ratio("vxlan") ?? 0) >= TARGETS.vxlanRatio.min,
      },
    );
  }
  return out;
}

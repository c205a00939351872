/** The human-readable side of the cluster benchmark's report: aligned tables, ratios, targets (pure). */
import { failureLines } from "../support/failures.ts";
import type { Summary } from "../support/stats.ts";
import { targetLines } from "../support/targets.ts";
import { fmt, table } from "../support/text-table.ts";
import { bgpLines } from "./bgp-table.ts";
import { pathRow } from "./path-report.ts";
import { PATHS } from "./pod-throughput.ts";
import type { BenchReport, ConvergenceReport, LeaseReport, ThroughputReport } from "./report.ts";

const stat = (label: string, s: Summary | null, digits = 1) => [
  label,
  fmt(s?.p50, digits),
  fmt(s?.p99, digits),
  fmt(s?.max, digits),
];

function leases(l: LeaseReport): string[] {
  return [
    `Block leases: ${l.agents} agents claim at once against a ${l.etcdMembers}-member etcd, one client each; ${l.rounds} round(s)`,
    ...table(
      ["", "p50", "p99", "max"],
      [
        stat("claimBlocks, ms", l.claimMs),
        stat("lease grant, ms", l.grantMs),
        stat("connect (not timed), ms", l.connectMs),
      ],
    ),
    `blocks/s: ${fmt(l.blocksPerSecond, 1)} (per round: ${l.perRound.map((r) => fmt(r.blocksPerSecond, 1)).join(", ")}); lost compare-and-swap races: ${l.lostRaces.total} (at most ${l.lostRaces.maxPerClaim} in one claim)`,
    `distinct blocks: ${l.allVerified ? `verified in every round (${l.perRound.map((r) => r.verification.distinctBlocks).join(", ")} distinct, read back from etcd)` : "NOT VERIFIED, see failures"}`,
  ];
}

function convergence(runs: readonly ConvergenceReport[]): string[] {
  const nodes = runs[0]?.nodes ?? 0;
  const header = ["", ...runs.map((r) => r.backend)];
  const row = (label: string, pick: (r: ConvergenceReport) => string) => [label, ...runs.map(pick)];
  const t = (pick: (r: ConvergenceReport) => number | null) => (r: ConvergenceReport) => fmt(pick(r), 0);
  return [
    `Convergence: ${nodes - 1} agents run on one segment (shared SQLite datastore); the ${nodes}th starts. ms from its spawn`,
    ...table(header, [
      row(`every other node routes to its block`, (r) => fmt(r.convergenceMs, 0)),
      row(
        "  first / median peer",
        (r) => `${fmt(r.peerArrivalMs?.min, 0)} / ${fmt(r.peerArrivalMs?.p50, 0)}`,
      ),
      row(
        "joiner: process up (first log line)",
        t((r) => r.joiner.timeline.firstLogMs),
      ),
      row(
        "  block leased",
        t((r) => r.joiner.timeline.blocksLeasedMs),
      ),
      row(
        "  conflist written, node announced",
        t((r) => r.joiner.timeline.conflistWrittenMs),
      ),
      row(
        `  ready (first sync of ${nodes - 1} peers)`,
        t((r) => r.joiner.timeline.readyMs),
      ),
      row("peers' syncs during the join", (r) => String(r.join.peers.syncs)),
      row("  mean sync, ms", (r) => fmt(r.join.peers.meanSyncMs, 0)),
      row("  CPU s of all peers (with ip/bridge)", (r) => fmt(r.join.peers.cpuSeconds, 2)),
      row("  CPU ms per peer sync", (r) => fmt(r.join.peers.cpuMsPerSync, 1)),
      row("joiner's CPU s since its spawn", (r) => fmt(r.join.joiner.cpuSeconds, 2)),
      row(`agent VmRSS with ${nodes - 1} peers, MiB: joiner`, (r) => fmt(r.memory.joinerRssMiB, 1)),
      row(
        "  median / largest of all agents",
        (r) => `${fmt(r.memory.rssMiB?.p50, 1)} / ${fmt(r.memory.rssMiB?.max, 1)}`,
      ),
      row("  largest peak (VmHWM)", (r) => fmt(r.memory.peakRssMiB?.max, 1)),
      row(`first ${nodes - 1} agents ready, s`, (r) => fmt(r.bootSeconds, 1)),
      row("  then all routing to all, s", (r) => fmt(r.meshSeconds, 1)),
      row(`${nodes - 1} idle agents: CPU % of one core`, (r) => fmt(r.idle.cpuPercent, 1)),
      row("  their syncs over the idle seconds", (r) => `${r.idle.syncs} in ${fmt(r.idle.seconds, 1)} s`),
    ]),
    ...runs.map((r) => `${r.backend} route on a peer: ${r.exampleRoute ?? "none seen"}`),
    ...runs.flatMap((r) =>
      r.missing.length > 0 ? [`${r.backend}: NO ROUTE on ${r.missing.join(", ")}`] : [],
    ),
    ...runs.flatMap((r) =>
      r.logProblems.length > 0
        ? [`${r.backend}: agents logged warnings/errors since the join, e.g. ${r.logProblems[0]}`]
        : [],
    ),
  ];
}

function throughput(t: ThroughputReport, o: BenchReport["options"]): string[] {
  const rows = PATHS.flatMap((p) => {
    const r = t.paths[p];
    if (!r) return [];
    const ratio = p === "host-gw" ? t.ratio.hostGw : p === "vxlan" ? t.ratio.vxlan : null;
    return [pathRow(p, r, p === "raw" ? "" : fmt(ratio))];
  });
  return [
    `Pod-to-pod TCP throughput, Gbit/s: iperf3 -t ${o.iperfSeconds} -O ${o.iperfOmit}, ${o.throughputRounds} round(s) alternating raw, host-gw, vxlan`,
    ...table(["", "mean", "min", "max", "MTU", "retransmits", "CPU% cli/srv", "podnet/raw"], rows),
    "raw = between the two node namespaces' underlay addresses; podnet = pod to pod on two nodes",
    `per-round podnet/raw: host-gw ${t.roundRatios.hostGw.map((v) => fmt(v)).join(", ")}; vxlan ${t.roundRatios.vxlan.map((v) => fmt(v)).join(", ")}`,
  ];
}

export function renderTable(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [
    `podnet cluster benchmark: ${report.podnet.version} (${report.podnet.binary}, built ${report.podnet.modified}${report.podnet.replacedDuringRun ? "; REBUILT DURING THE RUN: later parts ran a newer build" : ""})`,
    `machine: ${m.cpus} CPUs, ${fmt(m.memoryGiB, 1)} GiB, Linux ${m.kernel}, Bun ${m.bun}; run took ${fmt(report.durationSeconds, 1)} s`,
    `load average ${fmt(m.loadAverage.start)} at the start, ${fmt(m.loadAverage.end)} at the end (its own agents and iperf3 count too)`,
  ];
  if (report.leases) out.push("", ...leases(report.leases));
  if (report.convergence.length > 0) out.push("", ...convergence(report.convergence));
  if (report.throughput) out.push("", ...throughput(report.throughput, report.options));
  out.push(...bgpLines(report));
  out.push("", ...targetLines(report.targets), "", ...failureLines(report.failures));
  return out.join("\n");
}

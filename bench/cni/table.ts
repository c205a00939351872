/** The human-readable side of the CNI benchmark's report: aligned tables, ratios and targets (pure). */
import { failureLines } from "../support/failures.ts";
import { targetLines } from "../support/targets.ts";
import { fmt, table } from "../support/text-table.ts";
import type { BenchReport, Comparison, RateComparison } from "./report.ts";
import { LABELS } from "./subjects.ts";

const HEADER = [
  "",
  LABELS.podnet,
  LABELS.agent,
  LABELS.reference,
  `${LABELS.podnet}/ref`,
  `${LABELS.agent}/ref`,
] as const;

function latencyRows(op: string, c: Comparison): string[][] {
  return (["min", "p50", "p99"] as const).map((stat) => [
    `${op} ${stat}`,
    fmt(c.summaries.podnet[stat]),
    fmt(c.summaries.agent[stat]),
    fmt(c.summaries.reference[stat]),
    fmt(c.ratio.podnet[stat]),
    fmt(c.ratio.agent[stat]),
  ]);
}

function rateRow(op: string, c: RateComparison): string[] {
  const p = c.podsPerSecond;
  return [
    op,
    fmt(p.podnet, 1),
    fmt(p.agent, 1),
    fmt(p.reference, 1),
    fmt(c.ratio.podnet),
    fmt(c.ratio.agent),
  ];
}

function memoryLines(report: BenchReport): string[] {
  const m = report.memory;
  const cal = m.calibration;
  const calibration = `calibration, /bin/true: GNU time ${fmt(cal.gnuTimeTrueKiB === undefined ? null : cal.gnuTimeTrueKiB / 1024)} MiB; Bun resourceUsage().maxRSS ${fmt(cal.bunTrueKiB === undefined ? null : cal.bunTrueKiB / 1024)} MiB with our own RSS at ${fmt(cal.parentRssKiB / 1024)} MiB (not used)`;
  const agent = report.agentMemoryMiB;
  const agentLine = agent
    ? `the node agent itself (one per node, serving every pod): ${fmt(agent.rss, 1)} MiB resident at the end, ${fmt(agent.peak, 1)} MiB at most`
    : "the node agent's memory: not read";
  switch (m.method) {
    case "gnu-time": {
      const r = m.peakRssMiB;
      return [
        `Peak RSS of one ADD, MiB: GNU time %M over ${r.podnet.n} ADDs each (largest single process of the invocation)`,
        ...table(HEADER, [
          [
            "ADD p50",
            fmt(r.podnet.p50),
            fmt(r.agent.p50),
            fmt(r.reference.p50),
            fmt(m.p50Ratio.podnet),
            fmt(m.p50Ratio.agent),
          ],
          ["ADD max", fmt(r.podnet.max), fmt(r.agent.max), fmt(r.reference.max), "", ""],
        ]),
        `memory floor (the trivial compiled Bun program, VERSION): p50 ${fmt(r.floor.p50)} MiB`,
        agentLine,
        calibration,
      ];
    }
    case "none":
      return [`Peak RSS of one ADD: not measured (${m.reason})`, agentLine, calibration];
    default: {
      const never: never = m;
      throw new Error(`unknown memory method ${JSON.stringify(never)}`);
    }
  }
}

export function renderTable(report: BenchReport): string {
  const o = report.options;
  const { add, del, version } = report.latencyMs;
  const floor = report.startupFloor;
  const s = report.subjects;
  const out: string[] = [
    `podnet CNI benchmark, cniVersion ${report.cniVersion}:`,
    `  ${LABELS.podnet}: ${s.podnet.description}`,
    `  ${LABELS.agent}: ${s.agent.description}`,
    `  ${LABELS.reference}: ${s.reference.description}`,
    `machine: ${report.machine.cpus} CPUs, Linux ${report.machine.kernel}, Bun ${report.machine.bun}; run took ${fmt(report.durationSeconds, 1)} s`,
    "",
    `Serial latency, ms: ${o.pods} pods each, rounds of ${o.batch}, the subjects in rotating order; wall time of one plugin exec`,
    ...table(HEADER, [
      ...latencyRows("ADD", add),
      ...latencyRows("DEL", del),
      ...latencyRows("VERSION", version).slice(0, 2),
    ]),
    `VERSION = start-up and exit only (${version.summaries.podnet.n} calls each); launcher inside every figure (ip netns exec NODE /bin/true): p50 ${fmt(report.launcherMs.p50)} ms`,
    `p50 ratio with the launcher's p50 taken off both sides (approximate): ADD ${fmt(add.p50RatioExcludingLauncher.podnet)} / ${fmt(add.p50RatioExcludingLauncher.agent)}, DEL ${fmt(del.p50RatioExcludingLauncher.podnet)} / ${fmt(del.p50RatioExcludingLauncher.agent)} (${LABELS.podnet} / ${LABELS.agent})`,
    `start-up floor: a trivial compiled Bun program answers VERSION in p50 ${fmt(floor.versionMs.p50)} ms (same launcher); above it: ${LABELS.podnet} ${fmt(floor.aboveFloorP50Ms.podnet)} ms, ${LABELS.agent} ${fmt(floor.aboveFloorP50Ms.agent)} ms, Go's bridge ${fmt(floor.aboveFloorP50Ms.reference)} ms`,
    "",
    `Concurrent throughput, pods/s: ${o.throughputPods} pods × ${o.throughputRounds} round(s) each, concurrency ${o.concurrency}`,
    ...table(HEADER, [
      rateRow("ADD", report.throughputPodsPerSecond.add),
      rateRow("DEL", report.throughputPodsPerSecond.del),
    ]),
    "",
    ...memoryLines(report),
    "",
    ...targetLines(report.targets, "ratios are podnet/reference"),
    "",
    ...failureLines(report.failures, "excluded from the figures"),
  ];
  return out.join("\n");
}

/** The human-readable side of the CNI benchmark's report: aligned tables, ratios and targets (pure). */
import { failureLines } from "../support/failures.ts";
import { targetLines } from "../support/targets.ts";
import { fmt, table } from "../support/text-table.ts";
import type { BenchReport, Comparison, RateComparison } from "./report.ts";

const HEADER = ["", "podnet", "reference", "podnet/ref"] as const;

function latencyRows(op: string, c: Comparison): string[][] {
  return (["min", "p50", "p99"] as const).map((stat) => [
    `${op} ${stat}`,
    fmt(c.podnet[stat]),
    fmt(c.reference[stat]),
    fmt(c.ratio[stat]),
  ]);
}

function rateRow(op: string, c: RateComparison): string[] {
  return [op, fmt(c.podnet, 1), fmt(c.reference, 1), fmt(c.ratio)];
}

export function renderTable(report: BenchReport): string {
  const o = report.options;
  const { add, del, version } = report.latencyMs;
  const out: string[] = [
    `podnet CNI benchmark: ${report.subjects.podnet.description} vs ${report.subjects.reference.description}, cniVersion ${report.cniVersion}`,
    `machine: ${report.machine.cpus} CPUs, Linux ${report.machine.kernel}, Bun ${report.machine.bun}; run took ${fmt(report.durationSeconds, 1)} s`,
    "",
    `Serial latency, ms: ${o.pods} pods each, rounds of ${o.batch} alternating podnet/reference; wall time of one plugin exec`,
    ...table(HEADER, [
      ...latencyRows("ADD", add),
      ...latencyRows("DEL", del),
      ...latencyRows("VERSION", version).slice(0, 2),
    ]),
    `VERSION = start-up and exit only (${version.podnet.n} calls each); launcher inside every figure (ip netns exec NODE /bin/true): p50 ${fmt(report.launcherMs.p50)} ms`,
    `p50 ratio with the launcher's p50 taken off both sides (approximate): ADD ${fmt(add.p50RatioExcludingLauncher)}, DEL ${fmt(del.p50RatioExcludingLauncher)}, VERSION ${fmt(version.p50RatioExcludingLauncher)}`,
    "",
    `Concurrent throughput, pods/s: ${o.throughputPods} pods × ${o.throughputRounds} round(s) each, concurrency ${o.concurrency}`,
    ...table(HEADER, [
      rateRow("ADD", report.throughputPodsPerSecond.add),
      rateRow("DEL", report.throughputPodsPerSecond.del),
    ]),
    "",
  ];
  const m = report.memory;
  const cal = m.calibration;
  const calibration = `calibration, /bin/true: GNU time ${fmt(cal.gnuTimeTrueKiB === undefined ? null : cal.gnuTimeTrueKiB / 1024)} MiB; Bun resourceUsage().maxRSS ${fmt(cal.bunTrueKiB === undefined ? null : cal.bunTrueKiB / 1024)} MiB with our own RSS at ${fmt(cal.parentRssKiB / 1024)} MiB (not used)`;
  switch (m.method) {
    case "gnu-time": {
      const { podnet, reference, p50Ratio } = m.peakRssMiB;
      out.push(
        `Peak RSS of one ADD, MiB: GNU time %M over ${podnet.n} ADDs each (largest single process of the invocation)`,
        ...table(HEADER, [
          ["ADD p50", fmt(podnet.p50), fmt(reference.p50), fmt(p50Ratio)],
          ["ADD max", fmt(podnet.max), fmt(reference.max), fmt(podnet.max / reference.max)],
        ]),
        calibration,
      );
      break;
    }
    case "none":
      out.push(`Peak RSS of one ADD: not measured (${m.reason})`, calibration);
      break;
    default: {
      const never: never = m;
      throw new Error(`unknown memory method ${JSON.stringify(never)}`);
    }
  }
  out.push(
    "",
    ...targetLines(report.targets, "ratios are podnet/reference"),
    "",
    ...failureLines(report.failures, "excluded from the figures"),
  );
  return out.join("\n");
}

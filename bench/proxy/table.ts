/** The human-readable side of the proxy benchmark's report: aligned tables, ratios, targets (pure). */
import { failureLines } from "../support/failures.ts";
import type { Summary } from "../support/stats.ts";
import { targetLines } from "../support/targets.ts";
import { fmt, table } from "../support/text-table.ts";
import type { BenchReport, LatencyRatio } from "./report.ts";

const count = (n: number) => n.toLocaleString("en-US");
const p50 = (s: Summary | null, digits = 1) => fmt(s?.p50, digits);
const p99 = (s: Summary | null, digits = 1) => fmt(s?.p99, digits);

function sync(report: BenchReport): string[] {
  const o = report.options;
  const out: string[] = [];
  if (report.fullSync.length > 0)
    out.push(
      "",
      `Full sync, ms: renderRuleset + fullSync text ("render"), then nft -f into a fresh namespace; median of ${o.repetitions}`,
      ...table(
        ["Services × endpoints", "render", "nft -f", "total", "total min–max", "text MiB", "lines"],
        report.fullSync.map((f) => [
          `${count(f.services)} × ${f.endpointsPerService}`,
          p50(f.renderMs, 0),
          p50(f.applyMs, 0),
          p50(f.totalMs, 0),
          `${fmt(f.totalMs.min, 0)}–${fmt(f.totalMs.max, 0)}`,
          fmt(f.textMiB, 1),
          count(f.textLines),
        ]),
      ),
    );
  if (report.incremental.length > 0)
    out.push(
      "",
      `Incremental sync, ms: one endpoint of one random Service replaced; renderRuleset with the previous ruleset + diffRulesets ("render"), nft -f; ${o.changes} changes`,
      ...table(
        ["Services", "render p50", "nft -f p50", "total p50", "total p99", "transaction lines p50"],
        report.incremental.map((i) => [
          count(i.services),
          p50(i.renderMs, 2),
          p50(i.applyMs, 1),
          p50(i.totalMs, 1),
          p99(i.totalMs, 1),
          fmt(i.transactionLines.p50, 0),
        ]),
      ),
    );
  if (report.nftStartMs !== null)
    out.push(
      `every nft -f figure includes starting ip netns exec + nft: ${fmt(report.nftStartMs, 1)} ms for an empty transaction (median)`,
    );
  return out;
}

function ratioText(name: string, r: LatencyRatio | null): string {
  if (r === null) return `${name}: n/a`;
  return `${name} ${fmt(r.connectP50)} (p99 ${fmt(r.connectP99)}, first byte p50 ${fmt(r.firstByteP50)})`;
}

function latency(report: BenchReport): string[] {
  const { cases, ratios } = report.latency;
  if (cases.length === 0) return [];
  const o = report.options;
  const first = cases.find((c) => c.firstErrors.length > 0);
  return [
    "",
    `New TCP connection to a ClusterIP, ms: connect() until the handshake completes, and until the backend's first byte; ${count(o.connections)} connections per case in ${o.rounds} rounds, cases alternating; targets: every other connection the last Service, the rest random`,
    ...table(
      [
        "ruleset, Services",
        "connect p50",
        "p99",
        "last p50",
        "random p50",
        "first byte p50",
        "p99",
        "n",
        "failed",
        "nft -f load ms",
      ],
      cases.map((c) => [
        `${c.subject}, ${count(c.services)}`,
        p50(c.connectMs, 3),
        p99(c.connectMs, 3),
        p50(c.lastConnectMs, 3),
        p50(c.randomConnectMs, 3),
        p50(c.firstByteMs, 3),
        p99(c.firstByteMs, 3),
        String(c.connectMs?.n ?? 0),
        String(c.errors + c.wrongEndpoint),
        fmt(c.loadMs, 0),
      ]),
    ),
    `connect p50 ratio, large / small table: ${ratioText("podnet", ratios.podnet)}; ${ratioText("iptables structure", ratios.iptables)}`,
    "iptables structure = the same Services in kube-proxy's iptables layout (linear KUBE-SERVICES, per-endpoint chains) written in nft",
    ...(first ? [`first failure (${first.subject}, ${first.services}): ${first.firstErrors[0]}`] : []),
  ];
}

function memory(report: BenchReport): string[] {
  const m = report.memory;
  if (m === null) return [];
  return [
    "",
    `Proxy memory, MiB: a Bun process holding the input, the ruleset and the full-sync text of ${count(m.services)} Services × ${m.endpointsPerService} endpoints, after one incremental sync and a GC`,
    ...table(
      ["", "MiB"],
      [
        ["RSS (process.memoryUsage)", fmt(m.rssMiB, 1)],
        ["peak RSS (VmHWM)", fmt(m.vmHwmMiB, 1)],
        ["Bun alone, before building (RSS)", fmt(m.startRssMiB, 1)],
        ["JS heap used", fmt(m.heapUsedMiB, 1)],
        ["full-sync text kept", fmt(m.textMiB, 1)],
      ],
    ),
    `building and rendering all of it took ${fmt(m.workMs, 0)} ms; render problems: ${m.problems}`,
  ];
}

export function renderTable(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [
    `podnet service proxy benchmark (${m.nft}, Linux ${m.kernel}, Bun ${m.bun}; ${m.cpus} CPUs, ${fmt(m.memoryGiB, 1)} GiB)`,
    `run took ${fmt(report.durationSeconds, 1)} s; load average ${fmt(m.loadAverage.start)} at the start, ${fmt(m.loadAverage.end)} at the end`,
    ...sync(report),
    ...latency(report),
    ...memory(report),
    "",
    ...targetLines(report.targets),
    "",
    ...failureLines(report.failures),
  ];
  return out.join("\n");
}

/** The human-readable side of the DNS benchmark's report: the two servers side by side (pure). */
import { failureLines } from "../support/failures.ts";
import { targetLines } from "../support/targets.ts";
import { fmt, table } from "../support/text-table.ts";
import { QUERY_KINDS } from "./query-mix.ts";
import type { BenchReport, RunReport } from "./report.ts";
import { SUBJECTS } from "./subjects.ts";

const count = (n: number) => n.toLocaleString("en-US");

function runRows(report: BenchReport, pick: (s: BenchReport["subjects"]["podnet"]) => readonly RunReport[]) {
  const rows: string[][] = [];
  const rounds = Math.max(0, ...SUBJECTS.flatMap((s) => pick(report.subjects[s]).map((r) => r.round)));
  for (let round = 1; round <= rounds; round++)
    for (const s of SUBJECTS) {
      const r = pick(report.subjects[s]).find((x) => x.round === round);
      if (r === undefined) continue;
      rows.push([
        `${round}  ${s}`,
        fmt(r.queriesPerSecond, 0),
        count(r.completed),
        count(r.lost),
        fmt(r.avgLatencyMs, 3),
        fmt(r.cpuMicrosPerQuery, 1),
        String(r.responseBytes),
        count(r.wrongRcodes),
      ]);
    }
  return table(
    ["round  server", "q/s", "answered", "lost", "avg ms", "CPU µs/q", "resp B", "wrong rcode"],
    rows,
  );
}

function capacity(report: BenchReport): string[] {
  const o = report.options;
  const p = report.subjects.podnet.queriesPerSecond;
  const d = report.subjects.dnsmasq.queriesPerSecond;
  return [
    "",
    `Capacity: dnsperf closed loop, ${o.clients} client(s), ${o.outstanding} queries in flight, ${o.seconds} s per run, the servers in turn`,
    ...runRows(report, (s) => s.capacityRuns),
    `median q/s: podnet ${fmt(p, 0)}, dnsmasq ${fmt(d, 0)}; podnet / dnsmasq ${fmt(report.ratios.queriesPerSecond, 2)}`,
    // Measured (bench/README.md): 10,000 Services, A queries only, 2.8k q/s with the srv-host lines, 23k without.
    "(dnsmasq keeps srv-host records in a list it scans for every query: its capacity falls as Services are added)",
  ];
}

function latency(report: BenchReport): string[] {
  if (report.latencyRate === null) return [];
  const o = report.options;
  const p = report.subjects.podnet.latencyMs;
  const d = report.subjects.dnsmasq.latencyMs;
  const kindRows = QUERY_KINDS.map((k) => {
    const pk = report.subjects.podnet.latencyByKindMs[k];
    const dk = report.subjects.dnsmasq.latencyByKindMs[k];
    return [k, fmt(pk?.p50, 3), fmt(pk?.p99, 3), fmt(dk?.p50, 3), fmt(dk?.p99, 3)];
  });
  return [
    "",
    `Latency: dnsperf -Q ${report.latencyRate} (fixed rate${o.rate === null ? ", half the lower capacity" : ""}) -v, ${o.seconds} s per run; every response's latency, ms`,
    ...runRows(report, (s) => s.latencyRuns),
    ...table(
      ["", "n", "p50", "p99", "max", "mean"],
      [
        ["podnet", count(p?.n ?? 0), fmt(p?.p50, 3), fmt(p?.p99, 3), fmt(p?.max, 3), fmt(p?.mean, 3)],
        ["dnsmasq", count(d?.n ?? 0), fmt(d?.p50, 3), fmt(d?.p99, 3), fmt(d?.max, 3), fmt(d?.mean, 3)],
        ["podnet / dnsmasq", "", fmt(report.ratios.latencyP50, 2), fmt(report.ratios.latencyP99, 2), "", ""],
      ],
    ),
    "by query kind, ms:",
    ...table(["", "podnet p50", "p99", "dnsmasq p50", "p99"], kindRows),
  ];
}

function memory(report: BenchReport): string[] {
  const o = report.options;
  const row = (name: string, s: BenchReport["subjects"]["podnet"]) => [
    name,
    fmt(s.server?.startMs, 0),
    fmt(s.server?.memoryAtStart?.rssMiB, 1),
    fmt(s.server?.memoryAtEnd?.rssMiB, 1),
    fmt(s.server?.memoryAtEnd?.hwmMiB, 1),
  ];
  const a = report.agent;
  return [
    "",
    `Servers with ${count(o.services)} Services × ${o.endpointsPerService} endpoints (${count(report.zone.hostLines)} hosts lines, ${count(report.zone.srvLines)} srv-host lines for dnsmasq)`,
    ...table(
      ["", "start ms", "RSS at start MiB", "RSS at end MiB", "peak (VmHWM) MiB"],
      [row("podnet (DNS server alone)", report.subjects.podnet), row("dnsmasq", report.subjects.dnsmasq)],
    ),
    `RSS at end, podnet / dnsmasq: ${fmt(report.ratios.rssAtEnd, 2)}`,
    a.measured
      ? `podnet agent (its defaults: service proxy and DNS on) with ${count(a.services)} Services × ${fmt(a.endpoints / a.services, 0)} endpoints from SQLite: RSS ${fmt(a.memory.rssMiB, 1)} MiB, peak ${fmt(a.memory.hwmMiB, 1)} MiB (RSS ${fmt(a.emptyRssMiB, 1)} MiB with none); all answered ${fmt(a.convergeMs / 1000, 1)} s after the first write`
      : `podnet agent: not measured (${a.reason})`,
  ];
}

function answers(report: BenchReport): string[] {
  const a = report.answers;
  if (a === null) return ["", "Answers: not compared"];
  return [
    "",
    `Answers: ${count(a.compared)} queries of the mix asked of both servers, ${a.differenceCount} differ (rcode and answer records, TTLs included)`,
    ...a.differences.map((d) => `  ${d}`),
  ];
}

export function renderTable(report: BenchReport): string {
  const m = report.machine;
  const c = report.podnetCounters;
  const out: string[] = [
    `podnet DNS benchmark: podnet's DNS server against dnsmasq (${m.dnsmasq}; ${m.dnsperf}; Linux ${m.kernel}, Bun ${m.bun}; ${m.cpus} CPUs, ${fmt(m.memoryGiB, 1)} GiB)`,
    `run took ${fmt(report.durationSeconds, 1)} s; load average ${fmt(m.loadAverage.start)} at the start, ${fmt(m.loadAverage.end)} at the end`,
    `query mix (${count(report.options.queries)} queries, seed ${report.options.seed}): ${QUERY_KINDS.map((k) => `${k} ${report.mix[k]}%`).join(", ")}`,
    ...answers(report),
    ...capacity(report),
    ...latency(report),
    ...memory(report),
    c === null
      ? ""
      : `podnet server counters: ${count(c.queries)} queries, dropped ${Object.entries(c.dropped)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
    "",
    ...targetLines(report.targets, "ratios podnet / dnsmasq"),
    "",
    ...failureLines(report.failures),
  ];
  return out.join("\n");
}

/** The human-readable side of the diagnosis benchmark's report: aligned tables, ratios, targets (pure). */
import { failureLines } from "../support/failures.ts";
import { targetLines } from "../support/targets.ts";
import { fmt, table } from "../support/text-table.ts";
import type { BenchReport, ExplainReport, LatencySummary, RatioP50P95, TraceFigures } from "./report.ts";

const HEADER = (anchor: string) => ["", "n", "p50", "p95", "max", `/${anchor} p50`, `/${anchor} p95`];

function row(label: string, s: LatencySummary | null, r?: RatioP50P95, extra: string[] = []): string[] {
  return [
    label,
    String(s?.n ?? 0),
    fmt(s?.p50, 0),
    fmt(s?.p95, 0),
    fmt(s?.max, 0),
    r ? fmt(r.p50) : "",
    r ? fmt(r.p95) : "",
    ...extra,
  ];
}

function explainLines(e: ExplainReport, report: BenchReport): string[] {
  const where = report.lab ? ` in ${report.lab.askingNetns}` : "";
  return [
    `explain, ms: ${e.rounds} rounds (after ${report.options.warmup} warm-up), the anchor and the addresses in rotating order`,
    `  podnet: \`podnet explain ADDRESS --datastore SPEC --json\`${where}, wall time`,
    `  anchor: ${e.anchor.commands} commands one after another, by hand: ip addr/route/neigh, bridge fdb, nft, conntrack on every node, ipam show and service list once`,
    ...table(HEADER("anchor"), [
      ...e.addresses.map((a) => row(a.label, a.ms, a.ratio)),
      row("anchor (the same facts by hand)", e.anchor.ms),
    ]),
    `  anchor's commands, p50 ms summed over the nodes: ${e.anchor.steps.map((s) => `${s.label} ${fmt(s.p50Ms, 0)}`).join(", ")}`,
  ];
}

function traceLines(t: TraceFigures, report: BenchReport): string[] {
  const source = report.lab?.source ?? "the source pod";
  const verdicts = (v: Readonly<Record<string, number>>) =>
    Object.entries(v)
      .map(([status, n]) => `${status} ${n}`)
      .join(", ") || "none";
  return [
    `trace from ${source}, ms: ${t.rounds} rounds (after ${report.options.warmup} warm-up), 3 variants × ${t.destinations.length} destinations in rotating order`,
    `  trace: \`podnet trace ${source} ADDR:PORT --datastore SPEC --json [--no-probe]\`${report.lab ? ` in ${report.lab.askingNetns}` : ""}`,
    "  anchor: the bare connection, `podnet probe --to ADDR --port PORT --proto tcp` in the source pod (trace's probe, unverified)",
    ...table(
      [...HEADER("probe"), "verdicts"],
      t.destinations.flatMap((d) => [
        [d.label],
        row("  trace (verified)", d.verifiedMs, d.ratio.verified, [verdicts(d.verdicts)]),
        row("  trace --no-probe", d.noProbeMs, d.ratio.noProbe),
        row("  probe alone (anchor)", d.probeMs),
      ]),
    ),
    `  verifying (verified p50 − --no-probe p50), ms: ${t.destinations.map((d) => `${d.key} ${fmt(d.verificationP50Ms, 0)}`).join(", ")}`,
  ];
}

export function renderTable(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [
    `podnet diagnosis benchmark: ${report.podnet.version} (${report.podnet.binary}, built ${report.podnet.modified}${report.podnet.replacedDuringRun ? "; REBUILT DURING THE RUN" : ""})`,
    `machine: ${m.cpus} CPUs, ${fmt(m.memoryGiB, 1)} GiB, Linux ${m.kernel}, Bun ${m.bun}; run took ${fmt(report.durationSeconds, 1)} s`,
    `load average ${fmt(m.loadAverage.start)} at the start, ${fmt(m.loadAverage.end)} at the end (its own lab counts too)`,
  ];
  const lab = report.lab;
  out.push(
    lab
      ? `lab ${lab.id}: ${lab.nodes} nodes, ${lab.pods} pods, ${lab.backend} backend, datastore ${lab.datastore}; up in ${fmt(lab.upSeconds, 1)} s`
      : "lab: NOT UP, see failures",
  );
  if (report.explain) out.push("", ...explainLines(report.explain, report));
  if (report.trace) out.push("", ...traceLines(report.trace, report));
  out.push(
    "",
    ...targetLines(report.targets, "p50, on the 3-node lab"),
    "",
    ...failureLines(report.failures),
  );
  return out.join("\n");
}

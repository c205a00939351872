/** The human-readable side of the proxy benchmark's report: aligned tables, ratios, targets (pure). */
import { failureLines } from "../support/failures.ts";
import type { Summary } from "../support/stats.ts";
import { targetLines } from "../support/targets.ts";
import { fmt, table } from "../support/text-table.ts";
import type { LatencyRatio } from "./latency-report.ts";
import type { BenchReport } from "./report.ts";

const count = (n: number) => n.toLocaleString("en-US");
const p50 = (s: Summary | null, digits = 1) => fmt(s?.p50, digits);
const p99 = (s: Summary | null, digits = 1) => fmt(s?.p99, digits);

function sync(report: BenchReport): string[] {
  const o = report.options;
  const out: string[] = [];
  if (report.fullSync.length > 0)
    out.push(
      "",
      `Full sync, ms: renderRuleset + fullSync ("render"), then KernelCommands.replaceTable into a fresh namespace as the agent applies it ("apply": nft builds the table, its elements go over netlink, one nft transaction hooks it); median of ${o.repetitions}`,
      ...table(
        ["Services × endpoints", "render", "apply", "total", "total min–max", "as text MiB", "lines"],
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
  out.push(...stateSync(report));
  const f = report.nftFloor;
  if (f !== null)
    out.push(
      "",
      "What every nft -f figure includes before nft reads a line, ms (medians of 20, taking turns)",
      ...table(
        ["", "ms"],
        [
          ["ip netns exec NS true (the launcher)", fmt(f.netnsExecMs, 1)],
          ["ip netns exec NS nft -f /dev/null", fmt(f.nftDevNullMs, 1)],
          ["ip netns exec NS nft -f - with empty stdin", fmt(f.nftEmptyStdinMs, 1)],
          ["nft's own start (/dev/null − launcher)", fmt(f.nftOwnStartMs, 1)],
        ],
      ),
    );
  return out;
}

function stateSync(report: BenchReport): string[] {
  if (report.stateSync.length === 0) return [];
  const o = report.options;
  return [
    "",
    `Incremental sync through ProxyState, ms: ProxyState.update with the changed Services ("update", its transaction text included), then the transaction applied; single changes: ${o.changes}, one endpoint each; bursts: ${o.bursts} of ${o.burst} Services with one endpoint each, in one update and one transaction`,
    ...table(
      [
        "Services",
        "apply",
        "changed per sync",
        "update p50",
        "apply p50",
        "total p50",
        "total p99",
        "lines p50",
        "via nft -f",
      ],
      report.stateSync.map((r) => [
        count(r.services),
        r.path,
        count(r.changes),
        p50(r.renderMs, 2),
        p50(r.applyMs, 1),
        p50(r.totalMs, 1),
        p99(r.totalMs, 1),
        fmt(r.transactionLines.p50, 0),
        r.path === "nft -i" ? `${r.fallbacks}/${r.totalMs.n}` : "",
      ]),
    ),
    "via nft -f: syncs of the nft -i path whose transaction was too long for one nft -i line, sent to nft -f - instead (as the proxy does)",
    ...report.flatness.map(
      (f) =>
        `flatness (${f.path}): single-change total p50 ${fmt(f.largeP50, 1)} ms at ${count(f.large)} / ${fmt(f.smallP50, 1)} ms at ${count(f.small)} = ${fmt(f.ratio, 2)} (target ≤ 1.5)`,
    ),
  ];
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
        "load ms",
        "replace ms",
        "nft -f ms",
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
        c.replaceMs === undefined ? "" : fmt(c.replaceMs, 0),
        c.nftFileMs === undefined ? "" : fmt(c.nftFileMs, 0),
      ]),
    ),
    "load: podnet as the agent's full sync (KernelCommands.replaceTable into the empty namespace: built without base chains under a free name, elements over netlink, swapped in by one nft transaction), the iptables structure by nft -f; replace: podnet's replaceTable again, over its live table; nft -f: podnet's whole text by nft -f into another fresh namespace",
    `connect p50 ratio, large / small table: ${ratioText("podnet", ratios.podnet)}; ${ratioText("iptables structure", ratios.iptables)}`,
    "iptables structure = the same Services in kube-proxy's iptables layout (linear KUBE-SERVICES, per-endpoint chains) written in nft",
    `full load of the large table, podnet / iptables structure's nft -f: as the agent syncs ${fmt(report.latency.loadRatio, 3)} (target ≤ 0.1); replacing its live table ${fmt(report.latency.replaceRatio, 3)}; by nft -f ${fmt(report.latency.nftFileRatio, 3)}`,
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

function agentMemory(report: BenchReport): string[] {
  const a = report.agentMemory;
  if (a === null) return [];
  if (!a.measured) return ["", `Proxy memory in a running agent: not measured (${a.reason})`];
  const row = (name: string, r: { rssMiB: number; hwmMiB: number }, empty: number | null) => [
    name,
    fmt(r.rssMiB, 1),
    fmt(r.hwmMiB, 1),
    empty === null ? "" : fmt(empty, 1),
  ];
  return [
    "",
    `Proxy memory in a running agent, MiB: podnet agent (--dns-address none) fed from its SQLite datastore with ${count(a.services)} Services and ${count(a.endpoints)} endpoint pods, with the proxy and without, each measured ${fmt(a.measuredAfterMs / 1000, 1)} s after the first write`,
    ...table(
      ["agent", "RSS", "peak (VmHWM)", "RSS when ready, empty"],
      [
        row("--proxy on", a.withProxy, a.withProxy.emptyRssMiB),
        row("--proxy off", a.withoutProxy, a.withoutProxy.emptyRssMiB),
        row("proxy's share (on − off)", a.proxyShare, null),
      ],
    ),
    `with the proxy, the table held the last Service ${fmt(a.tableMs / 1000, 2)} s after the first write`,
  ];
}

export function renderTable(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [
    `podnet service proxy benchmark (${m.nft}, Linux ${m.kernel}, Bun ${m.bun}; ${m.cpus} CPUs, ${fmt(m.memoryGiB, 1)} GiB)`,
    ...(report.podnet === null
      ? []
      : [
          `agent: ${report.podnet.binary} (${report.podnet.version}, built ${report.podnet.modified})${report.podnet.replacedDuringRun ? "; replaced during the run (both agents ran a copy taken at the start)" : ""}`,
        ]),
    `run took ${fmt(report.durationSeconds, 1)} s; load average ${fmt(m.loadAverage.start)} at the start, ${fmt(m.loadAverage.end)} at the end`,
    ...sync(report),
    ...latency(report),
    ...memory(report),
    ...agentMemory(report),
    "",
    ...targetLines(report.targets),
    "",
    ...failureLines(report.failures),
  ];
  return out.join("\n");
}

/** The BGP part of the cluster benchmark's table (pure): convergence, withdrawal, throughput across the router. */
import { fmt, table } from "../support/text-table.ts";
import type { BgpConvergenceReport, BgpEventReport, BgpThroughputReport } from "./bgp-report.ts";
import { BGP_PATHS } from "./bgp-throughput.ts";
import { pathRow } from "./path-report.ts";
import type { BenchReport } from "./report.ts";

function eventRow(label: string, e: BgpEventReport): string[] {
  return [
    label,
    String(e.samples),
    `${fmt(e.routerMs?.p50, 0)} / ${fmt(e.routerMs?.max, 0)}`,
    `${fmt(e.allMs?.p50, 0)} / ${fmt(e.allMs?.max, 0)}`,
    e.perSample.map((s) => fmt(s.allMs, 0)).join(", "),
  ];
}

function convergence(c: BgpConvergenceReport): string[] {
  const missing = [
    ...c.start.missing.map((m) => `start ${m}`),
    ...c.cleanStop.missing.map((m) => `SIGTERM ${m}`),
    ...c.death.missing.map((m) => `death ${m}`),
  ];
  return [
    `BGP: ${c.nodes - 1} bgp agents on two segments peer with the router's BIRD (route reflector, hold ${c.holdTimeSeconds} s, keepalive ${c.keepaliveSeconds} s); ${c.joiner.node} (${c.joiner.segment}, block ${c.joiner.block}) starts and goes, ms from the cause`,
    ...table(
      ["", "samples", "router p50 / max", "router + all nodes p50 / max", "each sample"],
      [
        eventRow("start → its block routed (convergence)", c.start),
        eventRow("agent SIGTERM → block withdrawn", c.cleanStop),
        eventRow(`link cut + SIGKILL → withdrawn (hold ${c.holdTimeSeconds} s)`, c.death),
      ],
    ),
    `joiner's own milestones, p50 ms from its spawn: process up ${fmt(c.joinerP50Ms.firstLogMs, 0)}, block leased ${fmt(c.joinerP50Ms.blocksLeasedMs, 0)}, BIRD started ${fmt(c.joinerP50Ms.birdStartedMs, 0)}, ready ${fmt(c.joinerP50Ms.readyMs, 0)}`,
    `a node's death is noticed by the router's hold timer: ${c.holdTimeSeconds - c.keepaliveSeconds}–${c.holdTimeSeconds} s after the last keepalive (every ${c.keepaliveSeconds} s), then withdrawn everywhere at once`,
    `first ${c.nodes - 1} agents ready ${fmt(c.bootSeconds, 1)} s, every route over BGP ${fmt(c.meshSeconds, 1)} s later; bgp route on node1: ${c.exampleRoute ?? "none seen"}`,
    ...(missing.length > 0 ? [`NOT SEEN: ${missing.join("; ")}`] : []),
    ...(c.logProblems.length > 0
      ? [`agents logged warnings/errors since the first join, e.g. ${c.logProblems[0]}`]
      : []),
  ];
}

function throughput(t: BgpThroughputReport, o: BenchReport["options"]): string[] {
  const rows = BGP_PATHS.flatMap((p) => {
    const r = t.paths[p];
    if (!r) return [];
    const label = p === "raw" ? "raw routed" : p === "static" ? "static routes" : p;
    return [pathRow(label, r, p === "raw" ? "" : fmt(t.ratio[p]))];
  });
  return [
    `Pod-to-pod TCP across the router, Gbit/s: iperf3 -t ${o.iperfSeconds} -O ${o.iperfOmit}, ${o.throughputRounds} round(s) alternating raw routed, static routes, bgp, vxlan`,
    ...table(["", "mean", "min", "max", "MTU", "retransmits", "CPU% cli/srv", "/raw routed"], rows),
    "raw routed = the two bgp nodes' own addresses through the router; the others pod to pod, the nodes on different segments;",
    "static routes = host-gw pods the router reaches by hand-made routes: the bgp packet path without BGP",
    `bgp / static routes: ${fmt(t.bgpOverStatic)} (what BGP itself costs the data path)`,
    `per-round /raw routed: static ${t.roundRatios.static.map((v) => fmt(v)).join(", ")}; bgp ${t.roundRatios.bgp.map((v) => fmt(v)).join(", ")}; vxlan ${t.roundRatios.vxlan.map((v) => fmt(v)).join(", ")}`,
  ];
}

export function bgpLines(report: BenchReport): string[] {
  const b = report.bgp;
  if (!b) return [];
  const out: string[] = [];
  if (b.convergence) out.push("", ...convergence(b.convergence));
  if (b.throughput) out.push("", ...throughput(b.throughput, report.options));
  return out;
}

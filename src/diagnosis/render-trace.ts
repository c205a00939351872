/**
 * `podnet trace` as one screen of text (pure), after research §9's example: the headline with the
 * predicted and observed outcomes, the path hop by hop in both directions (each hop with the
 * addresses it carries, what decided it and whether it was observed), the endpoint chosen and the
 * source the destination saw, the first disagreement, drift on the path, silent nodes, and the
 * commands that reproduce each hop.
 */

import { hostPort } from "../ipnet/host-port.ts";
import type { Hop, PredictedPath } from "./prediction-types.ts";
import { printableLines } from "./printable.ts";
import type { HopComparison, HopStatus, TraceReport } from "./trace-types.ts";

const MARK: Record<HopStatus, string> = {
  observed: "✓",
  differs: "✗",
  missing: "✗",
  unobservable: "·",
  "not-reached": "-",
};

const MAX_COMMANDS = 14;

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function packetText(h: Hop): string {
  return `${hostPort(h.packet.src, h.packet.sport)} → ${hostPort(h.packet.dst, h.packet.dport)}`;
}

function outcomeMark(ok: boolean | undefined): string {
  return ok === undefined ? "" : ok ? "✓" : "✗";
}

function predictedMark(outcome: TraceReport["prediction"]["outcome"]): string {
  if (outcome === "partial") return "~";
  if (outcome === "unknown") return "?";
  return outcomeMark(outcome === "delivered" || outcome === "left-cluster");
}

function pathLabel(path: PredictedPath, index: number, count: number): string {
  if (!path.endpoint) return "";
  return ` — endpoint ${path.endpoint.pod ?? path.endpoint.ip} (${hostPort(path.endpoint.ip, path.endpoint.port)}), path ${index + 1} of ${count}`;
}

function hopLines(
  hops: readonly Hop[],
  comparisons: readonly HopComparison[],
  direction: "forward" | "reply",
  numbering: { n: number },
  commands: string[],
): string[] {
  const lines: string[] = [];
  hops.forEach((h, i) => {
    const c = comparisons.find((x) => x.direction === direction && x.index === i);
    const n = numbering.n++;
    const mark = c ? MARK[c.status] : " ";
    const extra = [
      h.ttl !== undefined && (h.point === "fib" || h.point === "bridge") ? `ttl ${h.ttl}` : "",
      h.drop
        ? h.drop.reason === "agent-missing"
          ? "UNKNOWN past here: agent-missing"
          : `DROP ${h.drop.reason}`
        : "",
    ]
      .filter((x) => x !== "")
      .join(", ");
    lines.push(
      `${pad(String(n), 3)}${mark} ${pad(h.where, 22)} ${pad(h.point, 14)} ${pad(packetText(h), 40)} ${h.description}${extra ? ` [${extra}]` : ""}`,
    );
    if (c?.note && (c.status === "differs" || c.status === "missing" || c.status === "observed"))
      lines.push(`       ${c.status === "observed" ? "observed" : c.status}: ${c.note}`);
    for (const cmd of h.commands)
      commands.push(
        `  [${n}] ${cmd.pod ? `in pod ${cmd.pod} on ${cmd.node ?? "?"}` : `on ${cmd.node ?? "?"}`}: ${cmd.command}`,
      );
  });
  return lines;
}

export function renderTraceReport(report: TraceReport): string {
  const out: string[] = [];
  const v = report.verdict;
  const dst = report.destination;
  const inBlock =
    dst.kind === "external" && dst.node !== undefined ? ` (in ${dst.node}'s block, no pod record)` : "";
  const target = `${dst.text}${dst.kind === "pod" || dst.kind === "service" ? ` ${hostPort(dst.ip, report.port)}` : report.port !== undefined && dst.kind !== "node-port" ? `:${report.port}` : ""}/${report.proto}${inBlock}`;
  const prediction = report.prediction;
  const observation = report.observation;
  const traced = observation ? observation.nodes.filter((n) => n.reported && n.packets.length > 0).length : 0;
  const observed = observation?.probed
    ? `observed ${outcomeMark(observation.outcome === "answered")} ${observation.outcome} (real ${report.proto === "tcp" ? "connection" : report.proto === "udp" ? "datagram" : "ping"}, ${traced} node(s) traced)`
    : "not probed";
  out.push(
    `trace ${report.source.text} → ${target}    predicted ${predictedMark(prediction.outcome)} ${prediction.outcome}    ${observed}`,
  );
  out.push(`verdict: ${v.status} — ${v.summary}`);

  const index = Math.min(v.path, Math.max(prediction.paths.length - 1, 0));
  const path = prediction.paths[index];
  const commands: string[] = [];
  if (path) {
    const numbering = { n: 1 };
    out.push(`forward${pathLabel(path, index, prediction.paths.length)}`);
    out.push(...hopLines(path.forward, v.hops, "forward", numbering, commands));
    if (path.reply.length > 0) {
      out.push("reply");
      out.push(...hopLines(path.reply, v.hops, "reply", numbering, commands));
    }
    const others = prediction.paths.filter((_, i) => i !== index);
    if (others.length > 0) {
      const text = others
        .map((p) => {
          const via = p.forward.find((h) => h.point === "to-overlay")
            ? "VXLAN"
            : p.forward.some((h) => h.point === "underlay")
              ? "direct"
              : "same node";
          const masq = p.forward.find((h) => h.point === "masquerade");
          return `${p.endpoint?.pod ?? p.endpoint?.ip ?? "?"} (${via}${masq ? `, masquerade to ${masq.packet.src}` : ""}${p.outcome !== path.outcome ? `, ${p.outcome}` : ""})`;
        })
        .join(", ");
      out.push(`other candidates: ${text}`);
    }
    if (path.sourceSeen)
      out.push(
        `the destination should see the source as ${hostPort(path.sourceSeen.ip, path.sourceSeen.port)}${path.sourceSeen.translated ? " (translated)" : ""}`,
      );
  } else {
    out.push("no path predicted");
  }
  if (observation?.endpoint)
    out.push(
      `endpoint chosen: ${observation.endpoint.pod ?? observation.endpoint.ip} (${hostPort(observation.endpoint.ip, observation.endpoint.port)}, from ${observation.endpoint.how})${v.endpoint && !v.endpoint.candidate ? " — NOT one of the candidates" : ""}`,
    );
  if (observation?.sourceSeen)
    out.push(
      `source the destination saw: ${hostPort(observation.sourceSeen.ip, observation.sourceSeen.port)} (from ${observation.sourceSeen.how})`,
    );
  if (v.firstDisagreement) {
    const d = v.firstDisagreement;
    out.push(
      `first disagreement: ${d.node ?? "?"} ${d.point} (${d.direction} hop ${d.index + 1}) — ${d.reason}`,
    );
    out.push(`  predicted: ${d.predicted}`);
    out.push(`  observed:  ${d.observed}`);
    for (const e of d.evidence.slice(0, 4)) out.push(`  evidence:  ${e}`);
  } else if (path?.drop) {
    out.push(`${path.outcome}: ${path.drop.message}`);
  }
  if (prediction.unknowns.length > 0) out.push(`unknown: ${prediction.unknowns.join("; ")}`);
  if (report.drift.length > 0) {
    out.push(`drift on this path (${report.drift.length}):`);
    for (const d of report.drift.slice(0, 6)) out.push(`  ${d.node}: ${d.problem}  (${d.command})`);
  }
  for (const m of report.missing) out.push(`no answer from ${m.node}: ${m.reason}`);
  if (commands.length > 0) {
    const seen = new Set<string>();
    const unique = commands.filter((c) => {
      const text = c.replace(/^ {2}\[\d+\] /, "");
      if (seen.has(text)) return false;
      seen.add(text);
      return true;
    });
    out.push("reproduce:");
    out.push(...unique.slice(0, MAX_COMMANDS));
    if (unique.length > MAX_COMMANDS)
      out.push(`  … ${unique.length - MAX_COMMANDS} more (--json: each hop's commands)`);
  }
  return `${printableLines(out)}\n`;
}

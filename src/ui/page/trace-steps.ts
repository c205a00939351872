/**
 * A TraceReport as the map draws it (pure): the hops of the path the observation followed
 * (forward, then reply), numbered, each with where it happens (pod, node, or an address outside
 * the cluster), the rewrite it makes (DNAT, masquerade, un-NAT), its predicted-vs-observed status
 * and whether it is the first disagreement; plus the verdict's lines for the panel.
 */

import type { Direction, Hop, ObservationPoint, PacketHeader } from "../../diagnosis/prediction-types.ts";
import type { HopStatus, TraceReport } from "../../diagnosis/trace-types.ts";

export interface TraceStep {
  /** 1-based, across forward and reply. */
  readonly n: number;
  readonly direction: Direction;
  readonly point: ObservationPoint;
  readonly node?: string;
  /** "namespace/name". */
  readonly pod?: string;
  /** An address outside the cluster the hop sits at (from-network / to-network). */
  readonly outside?: string;
  readonly where: string;
  readonly description: string;
  readonly packet: string;
  /** "DNAT 10.96.0.10:80 → 10.244.2.3:8080", written where it happens. */
  readonly rewrite?: string;
  /** "predicted" when nothing was probed. */
  readonly status: HopStatus | "predicted";
  readonly note?: string;
  readonly drop?: string;
  readonly first: boolean;
  /** On the first disagreement: why the prediction and the observation part there ("no-route"). */
  readonly firstReason?: string;
}

export interface TraceSummary {
  readonly status: TraceReport["verdict"]["status"];
  readonly lines: readonly string[];
  /** The endpoint that answered (observed), else the one predicted. */
  readonly endpoint?: { readonly ip: string; readonly pod?: string; readonly observed: boolean };
  readonly steps: readonly TraceStep[];
}

export const packetText = (p: PacketHeader) => {
  const at = (ip: string, port?: number) => (port === undefined ? ip : `${ip}:${port}`);
  return `${p.proto} ${at(p.src, p.sport)} → ${at(p.dst, p.dport)}`;
};

/** What a hop rewrote, from the packet before and after it. */
export function rewriteText(hop: Hop): string | undefined {
  const b = hop.before;
  if (b === undefined) return undefined;
  const a = hop.packet;
  const at = (ip: string, port?: number) => (port === undefined ? ip : `${ip}:${port}`);
  const parts: string[] = [];
  if (b.dst !== a.dst || b.dport !== a.dport) parts.push(`dst ${at(b.dst, b.dport)} → ${at(a.dst, a.dport)}`);
  if (b.src !== a.src || b.sport !== a.sport) parts.push(`src ${at(b.src, b.sport)} → ${at(a.src, a.sport)}`);
  if (parts.length === 0) return undefined;
  const what =
    hop.point === "service-dnat"
      ? "DNAT"
      : hop.point === "masquerade"
        ? "masquerade"
        : hop.point === "un-nat"
          ? "un-NAT"
          : "rewrite";
  return `${what} ${parts.join(", ")}`;
}

function outsideOf(hop: Hop): string | undefined {
  if (hop.point === "from-network") return hop.packet.src;
  if (hop.point === "to-network") return hop.packet.dst;
  return hop.node === undefined && hop.pod === undefined ? hop.packet.dst : undefined;
}

export function traceSummary(report: TraceReport): TraceSummary {
  const v = report.verdict;
  const path = report.prediction.paths[v.path] ?? report.prediction.paths[0];
  const status = new Map(v.hops.map((h) => [`${h.direction}:${h.index}`, h]));
  const steps: TraceStep[] = [];
  const add = (hops: readonly Hop[], direction: Direction) =>
    hops.forEach((hop, index) => {
      const cmp = status.get(`${direction}:${index}`);
      const fd = v.firstDisagreement;
      const outside = outsideOf(hop);
      const rewrite = rewriteText(hop);
      const isFirst = fd !== undefined && fd.direction === direction && fd.index === index;
      steps.push({
        n: steps.length + 1,
        direction,
        point: hop.point,
        ...(hop.node === undefined ? {} : { node: hop.node }),
        ...(hop.pod === undefined ? {} : { pod: hop.pod }),
        ...(outside === undefined ? {} : { outside }),
        where: hop.where,
        description: hop.description,
        packet: packetText(hop.packet),
        ...(rewrite === undefined ? {} : { rewrite }),
        status: cmp?.status ?? (report.probed ? "not-reached" : "predicted"),
        ...(cmp?.note === undefined ? {} : { note: cmp.note }),
        ...(hop.drop === undefined ? {} : { drop: `${hop.drop.reason}: ${hop.drop.message}` }),
        first: isFirst,
        ...(isFirst && fd !== undefined ? { firstReason: fd.reason } : {}),
      });
    });
  if (path !== undefined) {
    add(path.forward, "forward");
    add(path.reply, "reply");
  }
  const lines = [
    `${report.source.text} → ${report.destination.text} (${report.proto}${report.port === undefined ? "" : ` port ${report.port}`})`,
    v.summary,
    `predicted: ${v.predicted}${v.observed === undefined ? "" : ` · observed: ${v.observed}`}`,
  ];
  if (v.firstDisagreement !== undefined) {
    const f = v.firstDisagreement;
    lines.push(
      `first disagreement at ${f.node ?? "?"} ${f.point} (${f.direction}): predicted ${f.predicted}, observed ${f.observed} — ${f.reason}`,
    );
  }
  for (const d of report.drift) lines.push(`drift: ${d.node} ${d.problem}`);
  for (const m of report.missing) lines.push(`not answering: ${m.node}: ${m.reason}`);
  const seen = report.observation?.endpoint;
  const endpoint =
    seen !== undefined
      ? { ip: seen.ip, ...(seen.pod === undefined ? {} : { pod: seen.pod }), observed: true }
      : v.endpoint !== undefined
        ? {
            ip: v.endpoint.ip,
            ...(v.endpoint.pod === undefined ? {} : { pod: v.endpoint.pod }),
            observed: false,
          }
        : undefined;
  if (endpoint !== undefined)
    lines.push(
      `${endpoint.observed ? "answered by" : "predicted endpoint"} ${endpoint.ip}${endpoint.pod === undefined ? "" : ` (${endpoint.pod})`}`,
    );
  return { status: v.status, lines, ...(endpoint === undefined ? {} : { endpoint }), steps };
}

/**
 * The text of `podnet explain` (pure): one screen, the answer first — what the address is — then
 * where it came from, how every node reaches it, what every kernel shows (failures in full with
 * the command that shows them, agreements folded), who uses it, conntrack, drift and silent nodes.
 */
import { unhandled } from "../base/unhandled.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { netnsWord } from "./command-words.ts";
import type { Drift } from "./drift.ts";
import { agoText } from "./explain-context.ts";
import type { BgpPart, BlockRoute, Check, Explanation } from "./explanation.ts";
import { printableLines } from "./printable.ts";

const OK = "✓";
const BAD = "✗";
const LABEL = 10;

function line(label: string, text: string): string {
  return `  ${label.padEnd(LABEL)}${text}`;
}

function more(lines: readonly string[]): string[] {
  return lines.map((l) => `  ${"".padEnd(LABEL)}${l}`);
}

function block(label: string, rows: readonly string[]): string[] {
  if (rows.length === 0) return [];
  return [line(label, rows[0] ?? ""), ...more(rows.slice(1))];
}

function provenanceText(e: Explanation): string | undefined {
  const p = e.provenance;
  const parts: string[] = [];
  if (p.range)
    parts.push(
      `${e.kinds.includes("cluster-ip") || e.kinds.includes("service-range") ? "service CIDR" : "cluster range"} ${p.range}${p.band ? ` (${p.band} band)` : ""}`,
    );
  if (p.block) {
    const b = p.block;
    parts.push(
      `block ${b.block} ${b.leased ? "leased to" : "in grace after"} ${b.node}${b.claimed ? ` (claimed ${agoText(b.claimed.ageSeconds)})` : ""}`,
    );
  }
  if (p.allocation) {
    const a = p.allocation;
    parts.push(`allocation ctr ${a.containerId}/${a.ifname} (${agoText(a.allocated.ageSeconds)})`);
  }
  return parts.length ? parts.join(" → ") : undefined;
}

function routeText(r: BlockRoute): string {
  const mark = r.ok ? OK : BAD;
  switch (r.how) {
    case "local":
      return `${mark} ${r.node}: its own block (${r.evidence})`;
    case "direct":
      return `${mark} ${r.node}: ${r.block} via ${r.via} (direct)${backup(r)}${r.ok ? "" : ` — has: ${r.evidence}; see: ${r.command}`}`;
    case "vxlan":
      return `${mark} ${r.node}: via ${r.via} dev podnet-vx onlink, neigh → ${r.vtepMac}, fdb → ${r.underlay} (VXLAN)${backup(r)}${r.ok ? "" : ` — has: ${r.evidence}`}`;
    case "bgp":
      return `${mark} ${r.node}: ${r.block}${r.via ? ` via ${r.via}` : ""} (BGP route, proto bird)${r.ok ? "" : ` — has: ${r.evidence}; see: ${r.command}`}`;
    case "not-routed":
      return `${mark} ${r.node}: not routed by podnet (${r.reason ?? "?"})`;
    default:
      return unhandled(
        r.how,
        (shown) => new Error(`Unknown route kind ${shown} for ${r.block} on ${r.node}`),
      );
  }
}

/** `auto` with BGP: podnet's route is the backup under BIRD's. */
function backup(r: BlockRoute): string {
  return r.bgpRoute === undefined ? "" : ` — backup (metric 1024); active: BIRD's ${r.bgpRoute}`;
}

function bgpRows(b: BgpPart): string[] {
  const head = !b.enabled
    ? `${b.node}: no BGP peer selects it (${b.backend} backend)`
    : `${b.node}: BIRD ${b.running ? "running" : "NOT RUNNING"}${b.routerId ? `, router id ${b.routerId}` : ""}${b.lastError ? ` — last error: ${b.lastError}` : ""}`;
  const sessions = b.sessions.map(
    (s) =>
      `${s.established ? OK : BAD} ${s.peer} ${s.neighbor} AS ${s.localAs}→${s.as} ${s.state}${s.since ? ` since ${agoText(s.since.ageSeconds)}` : ""}, routes received ${s.received} advertised ${s.advertised}${s.lastError ? ` — last error: ${s.lastError}` : ""}`,
  );
  const same = b.announced.length === b.held.length && b.held.every((h) => b.announced.includes(h));
  const blocks = `${same ? OK : BAD} announces ${b.announced.join(", ") || "nothing"}; holds ${b.held.join(", ") || "nothing"}`;
  const socket = b.controlSocket ? [`see: birdc -s ${netnsWord(b.controlSocket)} show protocols all`] : [];
  return [head, ...sessions, ...(b.enabled ? [blocks] : []), ...socket];
}

function checkRows(checks: readonly Check[]): string[] {
  const rows: string[] = [];
  const passed = new Map<string, string[]>();
  for (const c of checks) {
    if (c.ok) passed.set(c.what, [...(passed.get(c.what) ?? []), c.node]);
    else rows.push(`${BAD} ${c.node}: ${c.what} — ${c.evidence}  [on ${c.node}: ${c.command}]`);
  }
  for (const [what, nodes] of passed) rows.push(`${OK} ${what} (${[...new Set(nodes)].join(", ")})`);
  return rows;
}

function driftRow(d: Drift): string {
  return `${BAD} ${d.node} ${d.kind}: ${d.problem} — ${d.evidence}  [on ${d.node}: ${d.command}]`;
}

export function renderExplanation(e: Explanation): string {
  const out: string[] = [];
  const q = hostPort(e.query.ip, e.query.port);
  out.push(`${q}  ${e.summary}`);
  const from = provenanceText(e);
  if (from) out.push(line("from", from));
  if (e.pod) {
    const p = e.pod;
    const bits = [
      p.containerId && `ctr ${p.containerId}`,
      p.ifname && `${p.ifname}${p.mac ? ` ${p.mac}` : ""}`,
      p.netns && `netns ${p.netns}`,
      p.hostVeth && `host veth ${p.hostVeth}${p.bridge ? ` on ${p.bridge}` : ""}`,
      p.labels &&
        Object.entries(p.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      !p.inDatastore && "no pod record in the datastore",
    ].filter((x): x is string => typeof x === "string" && x !== "");
    out.push(line("pod", `${p.namespace}/${p.name} on ${p.node}: ${bits.join(", ")}`));
  }
  if (e.gateway)
    out.push(
      line(
        "gateway",
        `of ${e.gateway.node} (${e.gateway.device ?? "?"}${e.gateway.mac ? ` ${e.gateway.mac}` : ""}), block ${e.gateway.block}`,
      ),
    );
  if (e.vtep)
    out.push(
      line(
        "vtep",
        `of ${e.vtep.node} (${e.vtep.device ?? "?"}${e.vtep.mac ? ` ${e.vtep.mac}` : ""}), block ${e.vtep.block}; peers on other segments reach ${e.vtep.block} through it`,
      ),
    );
  if (e.nodeIP) {
    const n = e.nodeIP;
    out.push(
      line(
        "node",
        `${n.node}, ${n.backend} backend: announces ${n.announced.join(", ") || "nothing"}${n.current ? `; ${n.uplink ?? "uplink"} has ${n.current.join(", ") || "nothing"}` : ""}${n.changed ? " — CHANGED" : ""}`,
      ),
    );
  }
  if (e.bgp) out.push(...block("bgp", bgpRows(e.bgp)));
  if (e.service) {
    const s = e.service;
    const ports = s.ports.map(
      (p) =>
        `${p.protocol.toLowerCase()} ${p.port}→${p.targetPort}${p.nodePort ? ` (NodePort ${p.nodePort})` : ""}`,
    );
    const eps = s.endpoints.map((x) => `${x.ip} (${x.pod.split("/")[1] ?? x.pod})`);
    out.push(line("service", `${s.service}: ${ports.join(", ")}; affinity ${s.sessionAffinity}`));
    out.push(
      line("endpoints", eps.length ? eps.join(", ") : "none: connections are rejected (reject-service)"),
    );
  }
  if (e.nodePort) {
    const n = e.nodePort;
    out.push(
      line(
        "nodeport",
        `${n.port.protocol.toLowerCase()} ${n.port.nodePort ?? ""} → ${n.service} port ${n.port.port} → ${n.endpoints.length} endpoint(s) on :${n.port.targetPort}`,
      ),
    );
    out.push(...more([n.masquerade]));
  }
  if (e.free?.lastHolder) {
    const h = e.free.lastHolder;
    out.push(
      line(
        "last",
        `held by ${h.namespace && h.name ? `${h.namespace}/${h.name}` : "?"} (ctr ${h.containerId}/${h.ifname}), released ${agoText(h.released.ageSeconds)}`,
      ),
    );
  }
  if (e.egress) {
    const groups = new Map<string, string[]>();
    for (const g of e.egress) {
      const decided =
        g.masquerade === undefined ? "masquerade unknown" : g.masquerade ? "masquerade" : "no masquerade";
      const key = `${decided}: ${g.reason}`;
      groups.set(key, [...(groups.get(key) ?? []), g.as ? `${g.node} → as ${g.as}` : g.node]);
    }
    out.push(
      ...block(
        "egress",
        [...groups].map(([key, nodes]) => `${nodes.join(", ")}: ${key}`),
      ),
    );
  }
  out.push(...block("routes", e.routes.map(routeText)));
  out.push(...block("kernel", checkRows(e.checks)));
  if (e.kinds.includes("cluster-ip"))
    out.push(
      line("fib", "not used: a ClusterIP is DNATed to an endpoint before routing (see the endpoints)"),
    );
  else if (e.fib.length) {
    out.push(
      ...block(
        "fib",
        e.fib.map((d) => `${d.node}: ${d.route ?? `refused (${d.error ?? "?"})`}`),
      ),
    );
  }
  if (e.endpointOf.length)
    out.push(
      line("used by", e.endpointOf.map((u) => `Service ${u.service} (${u.ports.join(", ")})`).join("; ")),
    );
  const ct = e.conntrack;
  const perNode = Object.entries(ct.perNode)
    .map(([n, c]) => `${n} ${c}`)
    .join(", ");
  out.push(
    line(
      "conntrack",
      ct.total === 0 ? "no flows name it" : `${ct.total} flow${ct.total === 1 ? "" : "s"} (${perNode})`,
    ),
  );
  out.push(
    ...more(
      ct.flows
        .slice(0, 5)
        .map(
          (f) =>
            `${f.node} ${f.proto}${f.state ? ` ${f.state}` : ""} ${f.original}  reply ${f.reply}${f.flags.length ? ` [${f.flags.join(",")}]` : ""}`,
        ),
    ),
  );
  if (ct.flows.length > 5) out.push(...more([`… ${ct.flows.length - 5} more (--json shows all)`]));
  const others = e.drift.others
    ? ` (${e.drift.others} other finding${e.drift.others === 1 ? "" : "s"} elsewhere in the cluster)`
    : "";
  if (e.drift.relevant.length === 0) out.push(line("drift", `none concerning this address${others}`));
  else out.push(...block("drift", [...e.drift.relevant.map(driftRow), ...(others ? [others.trim()] : [])]));
  for (const m of e.missing)
    out.push(line("missing", `${m.node} did not answer (${m.reason}): its kernel is not checked`));
  return printableLines(out);
}

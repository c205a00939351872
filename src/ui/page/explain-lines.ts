/**
 * An Explanation as the explain panel shows it (pure): titled sections of plain text lines, the
 * same facts `podnet explain` prints — what the address is, who gave it out, how every node reaches
 * it, a node's BGP speaker, whether every kernel agrees, its flows and its drift. Lines that show a problem are marked
 * so the panel can draw them in the warning style.
 */
import { identifierWord, netnsWord } from "../../diagnosis/command-words.ts";
import type { BgpPart, Explanation } from "../../diagnosis/explanation.ts";

export interface ExplainLine {
  readonly text: string;
  readonly warn?: boolean;
  /** A command to run on a node that shows the fact. */
  readonly command?: string;
}

export interface ExplainSection {
  readonly title: string;
  readonly lines: readonly ExplainLine[];
}

const ago = (s: number) =>
  s < 120
    ? `${Math.round(s)} s ago`
    : s < 7200
      ? `${Math.round(s / 60)} min ago`
      : `${Math.round(s / 3600)} h ago`;

/** `birdc -s SOCKET ARGS` on the node (the socket's path checked, as explain prints it). */
const birdc = (b: BgpPart, args: string) =>
  `birdc -s ${b.controlSocket === undefined ? "BIRD-CTL" : netnsWord(b.controlSocket)} ${args}`;

/** A node's BIRD: running, router id, each session, and what it announces against what it holds. */
export function bgpLines(b: BgpPart): ExplainLine[] {
  if (!b.enabled)
    return [
      {
        text: `${b.node}: no BGP peer of the cluster's BGP config selects it (${b.backend} backend)`,
        warn: b.backend === "bgp",
        command: "podnet cluster bgp show",
      },
    ];
  const out: ExplainLine[] = [
    {
      text: `${b.node}: BIRD ${b.running ? "running" : "NOT RUNNING"}${b.routerId === undefined ? "" : `, router id ${b.routerId}`}${b.lastError === undefined ? "" : ` — last error: ${b.lastError}`}`,
      warn: !b.running,
      command: birdc(b, "show status"),
    },
  ];
  if (b.running && b.sessions.length === 0)
    out.push({ text: "no BGP session", warn: true, command: birdc(b, "show protocols all") });
  for (const s of b.sessions)
    out.push({
      text: `${s.established ? "✓" : "✗"} ${s.peer} ${s.neighbor} AS ${s.localAs}→${s.as} ${s.state}${s.since === undefined ? "" : ` since ${ago(s.since.ageSeconds)}`}, routes received ${s.received}, advertised ${s.advertised}${s.lastError === undefined ? "" : ` — last error: ${s.lastError}`}`,
      warn: !s.established,
      command: birdc(
        b,
        `show protocols all${s.protocol === undefined ? "" : ` ${identifierWord(s.protocol)}`}`,
      ),
    });
  const same = b.announced.length === b.held.length && b.held.every((h) => b.announced.includes(h));
  out.push({
    text: `${same ? "✓" : "✗"} announces ${b.announced.join(", ") || "nothing"}; holds ${b.held.join(", ") || "nothing"}`,
    warn: !same,
    command: birdc(b, "show route where source = RTS_STATIC"),
  });
  if (b.controlSocket !== undefined) out.push({ text: `control socket ${b.controlSocket}` });
  return out;
}

export function explainSections(e: Explanation): ExplainSection[] {
  const out: ExplainSection[] = [];
  const push = (title: string, lines: ExplainLine[]) => {
    if (lines.length > 0) out.push({ title, lines });
  };
  const q = e.query.port === undefined ? e.query.ip : `${e.query.ip}:${e.query.port}`;
  push(q, [{ text: e.summary }, { text: `kinds: ${e.kinds.join(", ")}` }]);

  const prov: ExplainLine[] = [];
  const p = e.provenance;
  if (p.range !== undefined)
    prov.push({ text: `range ${p.range}${p.band === undefined ? "" : ` (${p.band} band)`}` });
  if (p.block !== undefined)
    prov.push({
      text: `block ${p.block.block} → ${p.block.node}, ${p.block.leased ? "leased" : "in grace (node left)"}${p.block.claimed === undefined ? "" : `, claimed ${ago(p.block.claimed.ageSeconds)}`}`,
      warn: !p.block.leased,
    });
  if (p.allocation !== undefined)
    prov.push({
      text: `allocated on ${p.allocation.node} to ${p.allocation.containerId.slice(0, 12)} ${p.allocation.ifname} (${p.allocation.network}), ${ago(p.allocation.allocated.ageSeconds)}`,
    });
  push("Who gave it out", prov);

  const what: ExplainLine[] = [];
  if (e.pod !== undefined) {
    const pod = e.pod;
    what.push({
      text: `pod ${pod.namespace}/${pod.name} on ${pod.node}${pod.inDatastore ? "" : " (not in the datastore)"}`,
      warn: !pod.inDatastore,
    });
    if (pod.ifname !== undefined)
      what.push({
        text: `${pod.ifname}${pod.mac === undefined ? "" : ` ${pod.mac}`} ↔ host ${pod.hostVeth ?? "?"} on ${pod.bridge ?? "?"}`,
      });
    const labels = Object.entries(pod.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    if (labels.length > 0) what.push({ text: `labels ${labels.join(", ")}` });
  }
  if (e.gateway !== undefined)
    what.push({
      text: `pod gateway of ${e.gateway.node} (block ${e.gateway.block}) on ${e.gateway.device ?? "?"}`,
    });
  if (e.vtep !== undefined)
    what.push({
      text: `VXLAN tunnel endpoint of ${e.vtep.node} on ${e.vtep.device ?? "?"}${e.vtep.mac === undefined ? "" : ` ${e.vtep.mac}`}`,
    });
  if (e.nodeIP !== undefined) {
    const n = e.nodeIP;
    what.push({ text: `node IP of ${n.node} (${n.backend}), announced ${n.announced.join(", ")}` });
    if (n.current !== undefined)
      what.push({ text: `${n.uplink ?? "uplink"} holds ${n.current.join(", ")}`, warn: n.changed });
  }
  if (e.service !== undefined) {
    const s = e.service;
    what.push({ text: `Service ${s.service}: ${s.clusterIPs.join(", ")}, affinity ${s.sessionAffinity}` });
    for (const port of s.ports)
      what.push({
        text: `  ${port.protocol} ${port.port} → ${port.targetPort}${port.nodePort === undefined ? "" : `, NodePort ${port.nodePort}`}`,
      });
    what.push({
      text: `  endpoints: ${s.endpoints.length === 0 ? "none" : s.endpoints.map((x) => `${x.ip} (${x.pod} on ${x.node})`).join(", ")}`,
      warn: s.endpoints.length === 0,
    });
  }
  if (e.nodePort !== undefined)
    what.push({
      text: `NodePort ${e.nodePort.port.nodePort ?? "?"} of ${e.nodePort.service}: ${e.nodePort.masquerade}`,
    });
  for (const use of e.endpointOf) what.push({ text: `endpoint of ${use.service} (${use.ports.join(", ")})` });
  if (e.free !== undefined) {
    const f = e.free;
    what.push({ text: `free in ${f.block} on ${f.node}` });
    if (f.lastHolder !== undefined)
      what.push({
        text: `last held by ${f.lastHolder.namespace ?? "?"}/${f.lastHolder.name ?? f.lastHolder.containerId.slice(0, 12)}, released ${ago(f.lastHolder.released.ageSeconds)}`,
      });
  }
  push("What it is", what);
  if (e.bgp !== undefined) push("BGP", bgpLines(e.bgp));

  push(
    "How every node reaches it",
    e.routes.map((r) => ({
      text: `${r.node}: ${r.how}${r.via === undefined ? "" : ` via ${r.via}`}${r.reason === undefined ? "" : ` (${r.reason})`} — ${r.ok ? "ok" : `NOT OK: ${r.evidence}`}`,
      warn: !r.ok,
      command: r.command,
    })),
  );
  push(
    "Routing decisions",
    e.fib.map((f) => ({
      text: `${f.node}: ${f.route ?? f.error ?? "no answer"}`,
      warn: f.error !== undefined,
      command: f.command,
    })),
  );
  push(
    "What the kernels show",
    e.checks.map((c) => ({
      text: `${c.ok ? "✓" : "✗"} ${c.node}: ${c.what} — ${c.evidence}`,
      warn: !c.ok,
      command: c.command,
    })),
  );
  push(
    "Egress",
    (e.egress ?? []).map((g) => ({
      text: `${g.node}: ${g.masquerade === undefined ? "masquerade unknown" : g.masquerade ? `masqueraded as ${g.as ?? "the node IP"}` : "not masqueraded"} (${g.reason})`,
    })),
  );
  push(
    `Conntrack (${e.conntrack.total})`,
    e.conntrack.flows.map((f) => ({
      text: `${f.node} ${f.proto} ${f.state ?? ""} ${f.original} ⇄ ${f.reply}`.replace(/\s+/g, " "),
    })),
  );
  const drift: ExplainLine[] = e.drift.relevant.map((d) => ({
    text: `${d.node} ${d.problem}`,
    warn: true,
    command: d.command,
  }));
  if (e.drift.others > 0)
    drift.push({ text: `${e.drift.others} other drift finding(s) elsewhere in the cluster` });
  push("Drift", drift);
  push(
    "Not answering",
    e.missing.map((m) => ({ text: `${m.node}: ${m.reason}`, warn: true })),
  );
  return out;
}

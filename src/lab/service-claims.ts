/**
 * The Service and egress claims `lab check` proves, as pure judgements over echo replies (the
 * observations are gathered in service-check.ts). Every verdict can fail, and its evidence says
 * what was seen.
 */
import { sameIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { ProbeOutcome, Verdict } from "./claims.ts";

export interface ClientProbes {
  /** Who sent: a pod or node name. */
  readonly client: string;
  readonly outcomes: readonly ProbeOutcome[];
}

function verdict(claim: string, problems: readonly string[], evidence: string): Verdict {
  return { ok: problems.length === 0, claim, evidence: problems.length ? problems.join("; ") : evidence };
}

const replies = (outcomes: readonly ProbeOutcome[]) =>
  outcomes.flatMap((o) => (o.kind === "reply" ? [o.probe] : []));
const errors = (outcomes: readonly ProbeOutcome[]) =>
  outcomes.flatMap((o) => (o.kind === "error" ? [o.message] : []));

/** Every connection is answered, and each client is answered by more than one backend. */
export function clusterIpBalanced(clusterIP: string, clients: readonly ClientProbes[]): Verdict {
  const claim = `a pod and a node reach the ClusterIP ${clusterIP} and get answers from more than one backend`;
  const problems: string[] = [];
  const seen: string[] = [];
  for (const c of clients) {
    for (const e of errors(c.outcomes)) problems.push(`${c.client}: ${e}`);
    const backends = [...new Set(replies(c.outcomes).map((p) => p.reply.pod))].sort();
    if (backends.length < 2)
      problems.push(`${c.client} was answered only by ${backends.join(",") || "nobody"}`);
    seen.push(
      `${c.client}: ${replies(c.outcomes).length}/${c.outcomes.length} answered by ${backends.length} backends (${backends.join(", ")})`,
    );
  }
  if (clients.length === 0) problems.push("no client probed");
  return verdict(claim, problems, seen.join("; "));
}

/** The address each reply came from, as the client saw it, is the ClusterIP — for TCP and UDP. */
export function repliesFromClusterIP(
  clusterIP: string,
  probes: readonly {
    readonly client: string;
    readonly proto: "tcp" | "udp";
    readonly outcome: ProbeOutcome;
  }[],
): Verdict {
  const claim = "replies come back from the ClusterIP (conntrack undoes the DNAT), over TCP and UDP";
  const problems: string[] = [];
  const count = { tcp: 0, udp: 0 };
  for (const p of probes) {
    if (p.outcome.kind === "error") {
      problems.push(`${p.client} (${p.proto}): ${p.outcome.message}`);
      continue;
    }
    const { replyFrom, reply } = p.outcome.probe;
    if (!sameIP(replyFrom, clusterIP))
      problems.push(`${p.client} (${p.proto}) got ${reply.pod}'s reply from ${replyFrom}, not ${clusterIP}`);
    else count[p.proto]++;
  }
  if (count.tcp === 0 || count.udp === 0)
    problems.push(`need TCP and UDP replies, got ${count.tcp} and ${count.udp}`);
  return verdict(claim, problems, `${count.tcp} TCP and ${count.udp} UDP replies, all from ${clusterIP}`);
}

/** The NodePort answers on every node's address. */
export function nodePortOnEveryNode(
  nodePort: number,
  probes: readonly { readonly node: string; readonly address: string; readonly outcome: ProbeOutcome }[],
): Verdict {
  const claim = `the NodePort ${nodePort} answers on every node, from a host outside the cluster`;
  const problems: string[] = [];
  const seen: string[] = [];
  for (const p of probes) {
    if (p.outcome.kind === "error")
      problems.push(`${p.node} (${hostPort(p.address, nodePort)}): ${p.outcome.message}`);
    else seen.push(`${p.address} → ${p.outcome.probe.reply.pod}`);
  }
  if (probes.length === 0) problems.push("no node probed");
  return verdict(claim, problems, seen.join(", "));
}

/** Connections are refused (TCP reset / ICMP), not left to time out and not answered. */
export function refusedAtOnce(
  probes: readonly { readonly what: string; readonly outcome: ProbeOutcome; readonly elapsedMs: number }[],
): Verdict {
  const claim =
    "a Service without endpoints, and a port its ClusterIP does not define, refuse connections at once";
  const problems: string[] = [];
  for (const p of probes) {
    if (p.outcome.kind === "reply") problems.push(`${p.what} was answered by ${p.outcome.probe.reply.pod}`);
    else if (!/ECONNREFUSED|refused/i.test(p.outcome.message))
      problems.push(`${p.what} was not refused: ${p.outcome.message}`);
  }
  if (probes.length === 0) problems.push("nothing probed");
  const evidence = probes.map((p) => `${p.what}: refused after ${Math.round(p.elapsedMs)} ms`).join("; ");
  return verdict(claim, problems, evidence);
}

/** A pod reaches itself through a Service whose only endpoint it is. */
export function hairpinReach(pod: string, outcome: ProbeOutcome): Verdict {
  const claim = "a pod reaches itself through its own Service (hairpin)";
  if (outcome.kind === "error") return verdict(claim, [`${pod}: ${outcome.message}`], "");
  const { reply } = outcome.probe;
  const problems = reply.pod === pod ? [] : [`${pod} was answered by ${reply.pod}, not by itself`];
  return verdict(claim, problems, `${pod} → its Service → ${reply.pod}, seen as ${reply.from} (masqueraded)`);
}

/** Egress leaves with the node's address; pod-to-pod across nodes keeps the pod's address. */
export function egressMasquerade(
  external: { readonly pod: string; readonly nodeIps: readonly string[]; readonly outcome: ProbeOutcome },
  /** Undefined in a one-node lab. */
  crossNode:
    | { readonly pod: string; readonly podIp: string; readonly to: string; readonly outcome: ProbeOutcome }
    | undefined,
): Verdict {
  const claim =
    "the external host sees a pod's request coming from its node's IP (masquerade), a pod on another node sees the real pod IP";
  const problems: string[] = [];
  let evidence = "";
  if (external.outcome.kind === "error")
    problems.push(`${external.pod} → external: ${external.outcome.message}`);
  else {
    const from = external.outcome.probe.reply.from;
    if (!external.nodeIps.some((ip) => sameIP(ip, from)))
      problems.push(
        `the external host saw ${external.pod} as ${from}, not as its node (${external.nodeIps.join("/")})`,
      );
    evidence += `external host saw ${external.pod} as ${from} (its node)`;
  }
  if (crossNode === undefined) evidence += "; no other node to compare with";
  else if (crossNode.outcome.kind === "error")
    problems.push(`${crossNode.pod} → ${crossNode.to}: ${crossNode.outcome.message}`);
  else {
    const from = crossNode.outcome.probe.reply.from;
    if (!sameIP(from, crossNode.podIp))
      problems.push(`${crossNode.to} saw ${crossNode.pod} as ${from}, not as its pod IP ${crossNode.podIp}`);
    evidence += `; ${crossNode.to} saw ${crossNode.pod} as ${from} (its pod IP)`;
  }
  return verdict(claim, problems, evidence);
}

export interface UdpReplacement {
  readonly client: string;
  readonly localPort: number;
  readonly old: { readonly pod: string; readonly ip: string };
  readonly replacement: { readonly pod: string; readonly ip: string };
  readonly before: ProbeOutcome;
  /** The last probe after the replacement. */
  readonly after: ProbeOutcome;
  /** From the replacement's start to the first answer by the new backend. */
  readonly recoveredMs: number | undefined;
}

/** A UDP client keeping its source port reaches the new backend once the old one is gone. */
export function udpBackendReplaced(o: UdpReplacement): Verdict {
  const claim = "after a UDP backend is replaced, a UDP client keeping its source port reaches the new one";
  const problems: string[] = [];
  if (o.before.kind === "error") problems.push(`before: ${o.before.message}`);
  else if (o.before.probe.reply.pod !== o.old.pod)
    problems.push(`before: answered by ${o.before.probe.reply.pod}, not ${o.old.pod}`);
  // Same address again would prove nothing: the stale flow would still lead somewhere alive.
  if (o.old.ip === o.replacement.ip)
    problems.push(`the replacement got the old address ${o.old.ip}: inconclusive`);
  if (o.after.kind === "error") problems.push(`after: ${o.after.message}`);
  else if (o.after.probe.reply.pod !== o.replacement.pod)
    problems.push(`after: answered by ${o.after.probe.reply.pod}, not ${o.replacement.pod}`);
  return verdict(
    claim,
    problems,
    `${o.client} (UDP source port ${o.localPort}) reached ${o.old.pod} (${o.old.ip}), then ${o.replacement.pod} (${o.replacement.ip}) ${o.recoveredMs ?? "?"} ms after the replacement began`,
  );
}

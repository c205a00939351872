/**
 * The IP-per-pod claims `lab check` proves, as pure judgements over what was observed (kernel
 * state and echo replies). Kept free of I/O so every verdict is unit-tested, ✓ and ✗ alike.
 */
import { parseIP, sameIP } from "../ipnet/address.ts";
import { containsIP, parsePrefix } from "../ipnet/prefix.ts";
import { ipFamilyName } from "../k8s/service-model.ts";
import type { EchoProbe } from "./echo-server.ts";
import type { LabFamily } from "./lab-families.ts";

export interface Verdict {
  readonly ok: boolean;
  readonly claim: string;
  readonly evidence: string;
}

export interface PodAddresses {
  readonly pod: string;
  readonly ips: readonly string[];
  /** The block of the pod's node. */
  readonly nodeCidrs: readonly string[];
}

/**
 * Every pod holds exactly one address of each lab family (`families`, IPv4 alone in a lab from
 * before families), none shared, each inside its node's block of that family.
 */
export function uniquePodIps(pods: readonly PodAddresses[], families: readonly LabFamily[] = [4]): Verdict {
  const claim = "every pod has its own IP address, from its node's block";
  const problems: string[] = [];
  const owner = new Map<string, string>();
  for (const p of pods) {
    if (p.ips.length === 0) problems.push(`${p.pod} has no address`);
    const parsed = p.ips.map((ip) => ({ ip, addr: parseIP(ip) }));
    for (const f of families) {
      const held = parsed.filter((a) => a.addr.family === f).length;
      if (p.ips.length > 0 && held !== 1)
        problems.push(`${p.pod} has ${held} ${ipFamilyName(f)} addresses, not 1`);
    }
    for (const { ip, addr } of parsed) {
      const key = `${addr.family}:${addr.value}`;
      const other = owner.get(key);
      if (other) problems.push(`${ip} is held by both ${other} and ${p.pod}`);
      owner.set(key, p.pod);
      if (!families.includes(addr.family))
        problems.push(`${p.pod} holds ${ip}, of a family the lab does not run`);
      if (!p.nodeCidrs.some((c) => containsIP(parsePrefix(c), addr))) {
        problems.push(`${p.pod}'s ${ip} is outside its node's block ${p.nodeCidrs.join(",")}`);
      }
    }
  }
  if (pods.length < 2) problems.push(`only ${pods.length} pod(s): nothing to compare`);
  const listing = pods.map((p) => `${p.pod}=${p.ips.join(",") || "-"}`).join(" ");
  return { ok: problems.length === 0, claim, evidence: problems.length ? problems.join("; ") : listing };
}

export type ProbeOutcome =
  | { readonly kind: "reply"; readonly probe: EchoProbe }
  | { readonly kind: "error"; readonly message: string };

export function sharedLocalhost(pod: string, outcome: ProbeOutcome): Verdict {
  const claim = "containers of one pod share its network namespace and reach each other on localhost";
  if (outcome.kind === "error") return { ok: false, claim, evidence: `${pod}: ${outcome.message}` };
  const { reply, clientNetns, clientPid } = outcome.probe;
  const problems: string[] = [];
  if (reply.pod !== pod) problems.push(`answered by ${reply.pod}, not ${pod}`);
  if (reply.pid === clientPid) problems.push("client and server are the same process");
  if (reply.netns !== clientNetns) problems.push(`server in ${reply.netns}, client in ${clientNetns}`);
  if (reply.from !== "127.0.0.1" && reply.from !== "::1")
    problems.push(`server saw the client as ${reply.from}, not loopback`);
  return {
    ok: problems.length === 0,
    claim,
    evidence: problems.length
      ? `${pod}: ${problems.join("; ")}`
      : `${pod}: pid ${clientPid} → localhost answered by pid ${reply.pid}, both in ${reply.netns}`,
  };
}

export interface PairProbe {
  readonly from: string;
  /** Source addresses the receiver may see: the sender's pod IP, or any of a node's own addresses. */
  readonly fromIps: readonly string[];
  readonly to: string;
  readonly toIp: string;
  readonly outcome: ProbeOutcome;
  /** How the packets travelled (e.g. "direct", "vxlan"), for the evidence. */
  readonly path?: string;
}

/** A reaches B at B's own address, and B sees one of A's own addresses as the source (no NAT). */
export function reachWithoutNat(claim: string, probes: readonly PairProbe[]): Verdict {
  const problems: string[] = [];
  for (const p of probes) {
    if (p.outcome.kind === "error") {
      problems.push(`${p.from} → ${p.to} (${p.toIp}): ${p.outcome.message}`);
      continue;
    }
    const r = p.outcome.probe.reply;
    if (r.pod !== p.to) problems.push(`${p.from} → ${p.toIp} was answered by ${r.pod}, not ${p.to}`);
    if (!p.fromIps.some((ip) => sameIP(ip, r.from))) {
      problems.push(
        `${p.to} saw ${p.from} as ${r.from}, not as its own address ${p.fromIps.join("/")} (NAT?)`,
      );
    }
  }
  if (probes.length === 0) problems.push("nothing to probe");
  const paths = [...new Set(probes.map((p) => p.path).filter((x): x is string => x !== undefined))];
  const sample = probes[0];
  const seen = sample?.outcome.kind === "reply" ? sample.outcome.probe.reply.from : "?";
  const evidence = problems.length
    ? problems.join("; ")
    : `${probes.length} connections${paths.length ? ` (${paths.join(", ")})` : ""}; e.g. ${sample?.from} → ${sample?.to} (${sample?.toIp}) seen from ${seen}`;
  return { ok: problems.length === 0, claim, evidence };
}

/** A verdict whose claim names its family: `label` is familyLabel's ("" or " [IPv6]"). */
export function labelled(v: Verdict, label: string): Verdict {
  return label === "" ? v : { ...v, claim: `${v.claim}${label}` };
}

export function formatVerdict(v: Verdict): string {
  return `${v.ok ? "✓" : "✗"} ${v.claim}: ${v.evidence}`;
}

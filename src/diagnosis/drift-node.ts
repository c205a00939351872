/**
 * A node's own kernel settings and addresses against what podnet needs and announces (pure):
 * forwarding on, no strict reverse-path filter on the devices pod traffic crosses, the announced
 * node IPs really on the uplink; and the nodes that did not answer at all.
 */

import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";

import { DEFAULT_BRIDGE } from "../cni/conflist.ts";
import { sameIP } from "../ipnet/address.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { ifnameWord } from "./command-words.ts";
import type { Drift } from "./drift-kinds.ts";
import { addressOf } from "./fact-text.ts";

/** rp_filter in effect on a device: the larger of `all` and the device's own (kernel rule). */
export function effectiveRpFilter(
  sysctls: Readonly<Record<string, string>>,
  dev: string,
): number | undefined {
  const all = sysctls["net.ipv4.conf.all.rp_filter"];
  const own = sysctls[`net.ipv4.conf.${dev}.rp_filter`];
  if (all === undefined && own === undefined) return undefined;
  return Math.max(Number(all ?? 0), Number(own ?? 0));
}

/** The uplink's addresses as the node reports them ("192.0.2.11/24"). */
export function uplinkAddresses(facts: NodeFacts): readonly string[] {
  return facts.interfaces.find((i) => i.name === facts.agent.uplink)?.addresses ?? [];
}

/** A node's announced node IPs against what its uplink holds. */
export interface NodeIPStatus {
  /** The node record's node IPs (empty without a record). */
  readonly announced: readonly string[];
  /** The uplink's addresses as reported ("192.0.2.11/24"); empty when it holds none or is gone. */
  readonly held: readonly string[];
  /** Announced node IPs the uplink does not hold. */
  readonly notHeld: readonly string[];
  /** Whether the node could read its interfaces at all (else nothing is known about `held`). */
  readonly readable: boolean;
}

/** One answer to "does the uplink still hold the announced node IPs", for explain and drift alike. */
export function nodeIPStatus(
  record: { nodeIPs: readonly string[] } | undefined,
  facts: NodeFacts,
): NodeIPStatus {
  const readable = !facts.errors.some((e) => e.startsWith("interfaces:"));
  const held = uplinkAddresses(facts);
  const current = held.map(addressOf);
  const announced = record?.nodeIPs ?? [];
  const notHeld = readable ? announced.filter((ip) => !current.some((c) => sameIP(c, ip))) : [];
  return { announced, held, notHeld, readable };
}

export function nodeDrift(snapshot: ClusterSnapshot, facts: NodeFacts): Drift[] {
  const drift: Drift[] = [];
  const forward = facts.sysctls["net.ipv4.ip_forward"];
  // IPv4 forwarding matters only where the cluster has IPv4 pod addresses (an IPv6-only agent
  // leaves net.ipv4.ip_forward as it found it).
  const cidrs = snapshot.config.clusterCidrs;
  const v4 = cidrs.length === 0 || cidrs.some((c) => !c.includes(":"));
  if (v4 && forward === "0") {
    drift.push({
      node: facts.node,
      kind: "ip-forward-off",
      subject: facts.node,
      problem:
        "does not forward IPv4: pods on it reach nothing beyond it, and nothing reaches them through it",
      evidence: "net.ipv4.ip_forward = 0",
      command: "sysctl net.ipv4.ip_forward",
    });
  }
  // IPv6 forwarding matters only where the cluster has IPv6 pod addresses.
  const v6 = snapshot.config.clusterCidrs.some((c) => c.includes(":"));
  if (v6 && facts.sysctls["net.ipv6.conf.all.forwarding"]?.trim() === "0") {
    drift.push({
      node: facts.node,
      kind: "ip-forward-off",
      subject: facts.node,
      problem:
        "does not forward IPv6: its pods' IPv6 traffic reaches nothing beyond it, and nothing reaches them through it",
      evidence: "net.ipv6.conf.all.forwarding = 0",
      command: "sysctl net.ipv6.conf.all.forwarding",
    });
  }
  const devices = [facts.agent.uplink, DEFAULT_BRIDGE, VXLAN_DEV].filter((d) =>
    facts.interfaces.some((i) => i.name === d),
  );
  const strict = devices.filter((d) => effectiveRpFilter(facts.sysctls, d) === 1);
  if (strict.length > 0) {
    drift.push({
      node: facts.node,
      kind: "rp-filter-strict",
      subject: strict.join(","),
      problem: `strict reverse-path filtering on ${strict.join(", ")} can drop pod traffic that arrives on another path than its reply`,
      evidence: strict
        .map(
          (d) =>
            `net.ipv4.conf.all.rp_filter = ${facts.sysctls["net.ipv4.conf.all.rp_filter"] ?? "?"}, net.ipv4.conf.${d}.rp_filter = ${facts.sysctls[`net.ipv4.conf.${d}.rp_filter`] ?? "?"}`,
        )
        .join("; "),
      command: `sysctl -a 2>/dev/null | grep '\\.rp_filter'`,
    });
  }
  const record = snapshot.nodes.find((n) => n.name === facts.node);
  const status = nodeIPStatus(record, facts);
  for (const ip of status.notHeld) {
    drift.push({
      node: facts.node,
      kind: "node-ip-changed",
      subject: ip,
      problem: `announces node IP ${ip}, but its uplink ${facts.agent.uplink} no longer holds it: peers route its pods to an old address`,
      evidence: `${facts.agent.uplink} has ${status.held.join(", ") || "no address"}; the node record announces ${status.announced.join(", ")}`,
      command: `ip addr show ${ifnameWord(facts.agent.uplink)}`,
    });
  }
  return drift;
}

export function missingDrift(missing: readonly { node: string; reason: string }[]): Drift[] {
  return missing.map((m) => ({
    node: m.node,
    kind: "agent-not-answering" as const,
    subject: m.node,
    problem: "its agent did not answer: nothing about its kernel is known",
    evidence: m.reason,
    command: "podnet lab status (in the lab), or the agent's log on the node",
  }));
}

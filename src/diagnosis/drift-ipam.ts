/**
 * Whether a node's address bookkeeping agrees with its interfaces and with the datastore (pure):
 * every allocation has its pod interface holding the address, every podnet interface has its
 * allocation, and every pod record of the node names an address the node allocated.
 */
import type { AllocationFact, NodeFacts, NodePodFact } from "../cluster/diagnosis-protocol.ts";
import { sameIP } from "../ipnet/address.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { identifierWord, ifnameWord, netnsWord } from "./command-words.ts";
import type { Drift } from "./drift-kinds.ts";
import { addressOf } from "./fact-text.ts";

/** The host veth alias the plugin writes: podnet:NETWORK:CONTAINER:IFNAME. */
export function parseVethAlias(
  alias: string,
): { network: string; containerId: string; ifname: string } | undefined {
  const m = /^podnet:([^:]+):([^:]+):([^:]+)$/.exec(alias);
  return m?.[1] && m[2] && m[3] ? { network: m[1], containerId: m[2], ifname: m[3] } : undefined;
}

export function podOfAllocation(facts: NodeFacts, a: AllocationFact): NodePodFact | undefined {
  return facts.pods.find(
    (p) => p.containerId === a.containerId && p.ifname === a.ifname && p.network === a.network,
  );
}

/** Why an allocation has no interface holding it, or undefined when it has. */
export function interfaceProblem(
  facts: NodeFacts,
  a: AllocationFact,
): { problem: string; evidence: string } | undefined {
  const pod = podOfAllocation(facts, a);
  const who = `container ${a.containerId}/${a.ifname}`;
  if (!pod)
    return {
      problem: `allocated ${a.ip} to ${who}, which has no pod row`,
      evidence: "no pod row for the container",
    };
  if (pod.hostVeth === undefined || !facts.interfaces.some((i) => i.name === pod.hostVeth)) {
    return {
      problem: `allocated ${a.ip} to ${pod.namespace}/${pod.name} (${who}), but its host veth is gone`,
      evidence: `no interface with alias podnet:${a.network}:${a.containerId}:${a.ifname}`,
    };
  }
  if (pod.insideError !== undefined) {
    return {
      problem: `allocated ${a.ip} to ${pod.namespace}/${pod.name}, but the pod's namespace cannot be read`,
      evidence: pod.insideError,
    };
  }
  if (pod.inside && !pod.inside.addresses.some((c) => sameIP(addressOf(c), a.ip))) {
    return {
      problem: `allocated ${a.ip} to ${pod.namespace}/${pod.name}, but ${a.ifname} in the pod does not hold it`,
      evidence: `${a.ifname} ${pod.inside.mac} has ${pod.inside.addresses.join(", ") || "no address"}`,
    };
  }
  return undefined;
}

function commandFor(a: { network: string; containerId: string; ifname: string }): string {
  return `ip -d link show | grep -B2 'alias podnet:${identifierWord(a.network)}:${identifierWord(a.containerId)}:${ifnameWord(a.ifname)}'`;
}

/** IPAM drift on one node. */
export function ipamDrift(snapshot: ClusterSnapshot, facts: NodeFacts): Drift[] {
  const drift: Drift[] = [];
  const add = (kind: Drift["kind"], subject: string, problem: string, evidence: string, command: string) =>
    drift.push({ node: facts.node, kind, subject, problem, evidence, command });
  for (const a of facts.allocations) {
    const p = interfaceProblem(facts, a);
    if (p) add("allocation-without-interface", a.ip, p.problem, p.evidence, commandFor(a));
  }
  const allocated = (containerId: string, ifname: string) =>
    facts.allocations.some((a) => a.containerId === containerId && a.ifname === ifname);
  for (const i of facts.interfaces) {
    const owner = i.alias ? parseVethAlias(i.alias) : undefined;
    if (!owner || allocated(owner.containerId, owner.ifname)) continue;
    const pod = facts.pods.find((p) => p.containerId === owner.containerId && p.ifname === owner.ifname);
    add(
      "interface-without-allocation",
      pod?.ips[0] ?? i.name,
      `host veth ${i.name}${pod ? ` of ${pod.namespace}/${pod.name}` : ""} (container ${owner.containerId}/${owner.ifname}) has no allocation`,
      `${i.name} alias ${i.alias}; no allocation for the container`,
      `ip -d link show ${ifnameWord(i.name)}`,
    );
  }
  for (const pod of facts.pods) {
    if (pod.hostVeth !== undefined) continue; // checked through its interface above
    for (const ip of pod.inside?.addresses.map(addressOf) ?? []) {
      if (facts.allocations.some((a) => sameIP(a.ip, ip))) continue;
      add(
        "interface-without-allocation",
        ip,
        `${pod.namespace}/${pod.name} holds ${ip} on ${pod.ifname}, which the node never allocated`,
        `${pod.ifname} ${pod.inside?.mac ?? ""} has ${ip}; no allocation`,
        `nsenter --net=${pod.netns === undefined ? "POD-NETNS" : netnsWord(pod.netns)} ip addr show ${ifnameWord(pod.ifname)}`,
      );
    }
  }
  for (const rec of snapshot.pods.filter((p) => p.node === facts.node)) {
    for (const ip of rec.ips) {
      if (facts.allocations.some((a) => sameIP(a.ip, ip))) continue;
      add(
        "pod-record-without-allocation",
        ip,
        `the datastore's pod record ${rec.namespace}/${rec.name} names ${ip} on ${facts.node}, which has no allocation for it`,
        `no allocation of ${ip} among ${facts.allocations.length} on ${facts.node}`,
        `podnet ipam check --datastore ${snapshot.store}`,
      );
    }
  }
  return drift;
}

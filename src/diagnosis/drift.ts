/**
 * Where the datastore and a node's kernel disagree, cluster-wide (pure): peer routes, neighbours and
 * FDB entries (drift-peer-routes.ts), the Service proxy's table (drift-services.ts), addresses and
 * their allocations (drift-ipam.ts), forwarding sysctls and node IPs (drift-node.ts), the BGP
 * speaker's sessions and announcements (drift-bgp.ts), and nodes
 * that did not answer — never silently ignored. Each finding names the node, what is wrong, the
 * fact that shows it and a command to see it on that node.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { bgpDrift } from "./drift-bgp.ts";
import { ipamDrift } from "./drift-ipam.ts";
import type { Drift } from "./drift-kinds.ts";
import { missingDrift, nodeDrift } from "./drift-node.ts";
import { peerRouteDrift } from "./drift-peer-routes.ts";
import { serviceDrift } from "./drift-services.ts";

export type { Drift, DriftKind } from "./drift-kinds.ts";

/**
 * Every disagreement between the snapshot and the nodes' facts, node by node; `missing` nodes
 * first. A node that reported its facts but missed a later step of a trace (arming, observing,
 * the probe) is listed by the caller as not answering that step, never as drift "nothing about its
 * kernel is known" — its kernel is known.
 */
export function findDrift(
  snapshot: ClusterSnapshot,
  facts: readonly NodeFacts[],
  missing: readonly { node: string; reason: string }[] = [],
): Drift[] {
  const reported = new Set(facts.map((f) => f.node));
  const drift = missingDrift(missing.filter((m) => !reported.has(m.node)));
  for (const f of [...facts].sort((a, b) => a.node.localeCompare(b.node))) {
    drift.push(
      ...nodeDrift(snapshot, f),
      ...bgpDrift(f),
      ...peerRouteDrift(snapshot, f, facts),
      ...serviceDrift(snapshot, f),
      ...ipamDrift(snapshot, f),
    );
  }
  return drift;
}

/**
 * A node's own view of the cluster as its agent has it (pure), rebuilt from the node's facts and
 * the snapshot: its backend, its uplink's subnets, its own blocks, the leases — and, with \`auto\`
 * and BGP peers, that its direct and VXLAN routes are the backup under BIRD's.
 */
import type { LocalView } from "../agent/peer-routes.ts";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { BACKENDS, type Backend } from "../cluster/node-record.ts";
import { containsPrefix, formatPrefix, type IPPrefix, parseInterfaceCIDR } from "../ipnet/prefix.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { routeDst } from "./fact-text.ts";
import { prefixOrUndefined } from "./trace-net.ts";

/** The node's own view, as its agent has it: backend, uplink subnets, own blocks, the leases. */
export function localViewOf(snapshot: ClusterSnapshot, facts: NodeFacts): LocalView {
  const record = snapshot.nodes.find((n) => n.name === facts.node);
  const backend: Backend = BACKENDS.includes(facts.agent.backend as Backend)
    ? (facts.agent.backend as Backend)
    : (record?.backend ?? "auto");
  const uplink = facts.interfaces.find((i) => i.name === facts.agent.uplink);
  const connected: IPPrefix[] = [];
  for (const cidr of uplink?.addresses ?? []) {
    try {
      connected.push(parseInterfaceCIDR(cidr).prefix);
    } catch {
      // an unreadable address is no connected subnet
    }
  }
  const ownBlocks = facts.agent.blocks.map(prefixOrUndefined).filter((p): p is IPPrefix => p !== undefined);
  const owners = new Map(snapshot.blocks.map((b) => [routeDst(b.block), b.node]));
  const clusterCidrs = snapshot.config.clusterCidrs
    .map(prefixOrUndefined)
    .filter((p): p is IPPrefix => p !== undefined);
  return {
    name: facts.node,
    backend,
    connected,
    ownBlocks,
    bgpBackup: backend === "auto" && facts.bgp?.enabled === true,
    blockProblem: (peer, block) => {
      const length = snapshot.config.nodeBlockLength[String(block.family)];
      if (
        !clusterCidrs.some((c) => containsPrefix(c, block)) ||
        (length !== undefined && block.length !== length)
      ) {
        return "it is not a node block of this cluster";
      }
      const owner = owners.get(formatPrefix(block));
      return owner === peer ? undefined : `the datastore leases it to ${owner ?? "nobody"}, not to ${peer}`;
    },
  };
}

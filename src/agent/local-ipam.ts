/** The node's own view of its pod addresses: the node state the plugin writes, and the host veths present. */

import type { IpamReport } from "../cluster/ipam-report.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { containsIP, formatPrefix } from "../ipnet/prefix.ts";
import { type Allocation, listHostVeths, NodeState } from "../node-state/node-state.ts";

export function localIpamReport(
  node: string,
  network: string,
  stateDir: string,
  blocks: readonly IPPrefix[],
): IpamReport {
  const state = NodeState.open(stateDir);
  let allocations: Allocation[];
  try {
    allocations = state.list(network);
  } finally {
    state.close();
  }
  // An allocation whose attachment has no host veth any more has lost its pod.
  const attachment = (a: { containerId: string; ifname: string }) => `${a.containerId}\0${a.ifname}`;
  const live = new Set(
    listHostVeths(network).flatMap((v) => (v.attachment === undefined ? [] : [attachment(v.attachment)])),
  );
  const isLive = (a: Allocation) => live.has(attachment(a));
  return {
    node,
    at: new Date().toISOString(),
    blocks: blocks.map((b) => {
      const inBlock = allocations.filter((a) => containsIP(b, a.ip));
      return {
        block: formatPrefix(b),
        allocated: inBlock.map((a) => formatIP(a.ip)),
        orphaned: inBlock.filter((a) => !isLive(a)).map((a) => formatIP(a.ip)),
      };
    }),
    outside: allocations.filter((a) => !blocks.some((b) => containsIP(b, a.ip))).map((a) => formatIP(a.ip)),
  };
}

/** The node's own view of its pod addresses: the plugin's IPAM state and the host veths present. */

import type { IpamReport } from "../cluster/ipam-report.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { containsIP, formatPrefix } from "../ipnet/prefix.ts";
import { listHostVeths } from "../plugin/attach.ts";
import { IpamState } from "../plugin/ipam-state.ts";

export function localIpamReport(
  node: string,
  network: string,
  stateDir: string,
  blocks: readonly IPPrefix[],
): IpamReport {
  const state = IpamState.open(stateDir);
  let allocations: ReturnType<IpamState["list"]>;
  try {
    allocations = state.list(network);
  } finally {
    state.close();
  }
  // A pod's host veth carries the alias podnet:NETWORK:CONTAINER:IFNAME (set by the plugin).
  const live = new Set(listHostVeths(network).map((l) => (l.ifalias ?? "").split(":").slice(2).join(":")));
  const isLive = (a: { containerId: string; ifname: string }) => live.has(`${a.containerId}:${a.ifname}`);
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

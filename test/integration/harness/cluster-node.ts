/** A node of a test cluster: its namespace, underlay address and the agent's directories. */
import { CONFLIST_NAME } from "../../../src/agent/cni-config-writer.ts";
import type { HostSpec } from "../../../src/lab/topology.ts";

export interface ClusterNode {
  readonly name: string;
  readonly netns: string;
  /** Underlay address with its length, e.g. "192.0.2.11/24". */
  readonly address: string;
  readonly segment: string;
  readonly confDir: string;
  readonly stateDir: string;
  readonly readyFile: string;
  readonly conflistPath: string;
}

/** The node for host `h` of the topology, its namespace named `netns` and its files under `dir`. */
export function clusterNode(h: HostSpec, netns: string, dir: string): ClusterNode {
  const base = `${dir}/${h.name}`;
  return {
    name: h.name,
    netns,
    address: h.address,
    segment: h.segment,
    confDir: `${base}/net.d`,
    stateDir: `${base}/state`,
    readyFile: `${base}/state/ready`,
    conflistPath: `${base}/net.d/${CONFLIST_NAME}`,
  };
}

/** The node's underlay address without its length. */
export function addressOf(node: ClusterNode): string {
  return node.address.split("/")[0] as string;
}

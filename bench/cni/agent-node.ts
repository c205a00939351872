/**
 * The node of the "podnet+agent" subject: a node namespace with an uplink (a veth pair whose
 * ends both stay in the node, a documentation address on one), a one-node cluster in a SQLite
 * datastore of the run, and the real `podnet agent` (bench/cluster's BenchAgent, the lab's command
 * line) that leases the node's block, writes the conflist the subject uses and serves the plugin's
 * operations. Everything is inside the run's namespaces and directory.
 */
import { mustRunSync } from "../../src/linux/exec.ts";
import { BenchAgent } from "../cluster/bench-agent.ts";
import type { BenchSandbox } from "../support/sandbox.ts";

export interface AgentNode {
  readonly netns: string;
  readonly agent: BenchAgent;
}

export async function startAgentNode(sandbox: BenchSandbox, podnetExe: string): Promise<AgentNode> {
  const { name: netns } = sandbox.createNetns("node-a");
  const ip = (...args: string[]) => mustRunSync(["ip", "-n", netns, ...args]);
  ip("link", "add", "eth0", "type", "veth", "peer", "name", "eth0p");
  ip("addr", "add", "192.0.2.10/24", "dev", "eth0");
  ip("link", "set", "eth0", "up");
  ip("link", "set", "eth0p", "up");
  const agent = BenchAgent.start(sandbox, podnetExe, {
    node: "node-a",
    netns,
    datastore: `sqlite:${sandbox.dir}/cluster.db`,
    backend: "host-gw",
    clusterCidr: "10.252.0.0/16",
    dir: `${sandbox.dir}/agent`,
    leaseTtlSeconds: 30,
    resyncSeconds: 30,
    cniMode: "bridge",
  });
  await agent.waitReady(30_000);
  return { netns, agent };
}

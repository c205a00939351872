/**
 * `podnet agent` in a test cluster's node: the lab's command line with the tests' short clocks,
 * waiting for it to get ready, and stopping it with a signal.
 */
import { existsSync } from "node:fs";
import type { Subprocess } from "bun";
import { pollUntil } from "../../../src/base/poll-until.ts";
import type { Backend } from "../../../src/cluster/node-record.ts";
import { agentCommandLine } from "../../../src/lab/agent-command-line.ts";
import { PODNET } from "../../../testkit/podnet-build.ts";
import { stopProcess } from "../../../testkit/stop-process.ts";
import { logTail } from "./agent-log.ts";
import type { ClusterNode } from "./cluster-node.ts";

export const CLUSTER_CIDR = "10.244.0.0/16";
export const NETWORK = "pntest-cluster";
const METRICS_ADDR = "127.0.0.1:9464";

export interface AgentRunOptions {
  readonly backend: Backend;
  readonly leaseTtl?: number;
  readonly resync?: number;
  readonly uplink?: string;
  readonly extraArgs?: readonly string[];
}

export interface AgentProcess {
  readonly node: ClusterNode;
  readonly child: Subprocess;
  readonly logPath: string;
  readonly startedAt: number;
}

/** The agent's command line in `node` (a 5 s lease and a 1 s resync unless `o` says otherwise). */
export function testAgentArgv(node: ClusterNode, datastore: string, o: AgentRunOptions): string[] {
  const leaseTtlSeconds = o.leaseTtl ?? 5;
  return agentCommandLine({
    exe: PODNET,
    nodeName: node.name,
    datastore,
    backend: o.backend,
    uplink: o.uplink ?? "eth0",
    clusterCidrs: [CLUSTER_CIDR],
    cniConfDir: node.confDir,
    network: NETWORK,
    stateDir: node.stateDir,
    leaseTtlSeconds,
    // Blocks on the same short clock as the record, so these tests see both go at the TTL.
    blockGraceSeconds: leaseTtlSeconds,
    resyncSeconds: o.resync ?? 1,
    metricsAddr: METRICS_ADDR,
    ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
  });
}

/** Waits for the agent's ready file and conflist (the agent has done its first route sync). */
export async function waitAgentReady(agent: AgentProcess, timeoutMs: number): Promise<number> {
  const { ms } = await pollUntil(
    `the agent of ${agent.node.name} to get ready`,
    () => {
      if (agent.child.exitCode !== null)
        throw new Error(
          `the agent of ${agent.node.name} exited (${agent.child.exitCode}): ${logTail(agent)}`,
        );
      return existsSync(agent.node.readyFile) && existsSync(agent.node.conflistPath);
    },
    timeoutMs,
    { detail: () => logTail(agent) },
  );
  return ms;
}

/** Sends `signal` and returns the exit code; fails (after killing it) if the agent does not exit in time. */
export async function stopAgentProcess(
  agent: AgentProcess,
  signal: "SIGTERM" | "SIGKILL",
  timeoutMs: number,
): Promise<number> {
  const { code, killed } = await stopProcess(agent.child, signal, timeoutMs);
  if (killed)
    throw new Error(`the agent of ${agent.node.name} did not exit within ${timeoutMs} ms after ${signal}`);
  return code;
}

/**
 * What a set of running agents has done so far: route syncs and their total duration (from each
 * agent's own metrics), errors, and CPU time (from /proc). Two snapshots around an event give
 * what the event cost the cluster.
 */
import { runSync } from "../../src/linux/exec.ts";
import { metricSum } from "../../testkit/prometheus-text.ts";
import type { BenchAgent } from "./bench-agent.ts";

export interface AgentSnapshot {
  /** Route synchronisations run and their total duration, summed over the agents. */
  readonly syncs: number;
  readonly syncSeconds: number;
  readonly errors: number;
  /** CPU seconds of the agents and the programs they ran (ip, bridge). */
  readonly cpuSeconds: number;
  /** Agents whose metrics could be read (the rest are left out of the sums above). */
  readonly agents: number;
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const r = runSync(["getconf", "CLK_TCK"]);
    const n = Number(r.stdout.trim());
    ticksPerSecond = r.code === 0 && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

export async function snapshotAgents(agents: readonly BenchAgent[]): Promise<AgentSnapshot> {
  const texts = await Promise.all(agents.map((a) => a.metrics()));
  let syncs = 0;
  let syncSeconds = 0;
  let errors = 0;
  let cpuTicks = 0;
  let read = 0;
  texts.forEach((text, i) => {
    if (text === undefined) return;
    read++;
    syncs += metricSum(text, "podnet_agent_route_sync_duration_seconds_count") ?? 0;
    syncSeconds += metricSum(text, "podnet_agent_route_sync_duration_seconds_sum") ?? 0;
    errors += metricSum(text, "podnet_agent_errors_total") ?? 0;
    cpuTicks += agents[i]?.cpuTicks() ?? 0;
  });
  return { syncs, syncSeconds, errors, cpuSeconds: cpuTicks / clockTicks(), agents: read };
}

/** after − before, for the agents both saw. */
export function snapshotDelta(before: AgentSnapshot, after: AgentSnapshot): AgentSnapshot {
  return {
    syncs: after.syncs - before.syncs,
    syncSeconds: after.syncSeconds - before.syncSeconds,
    errors: after.errors - before.errors,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    agents: Math.min(before.agents, after.agents),
  };
}

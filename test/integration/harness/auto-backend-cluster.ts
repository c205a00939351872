/**
 * The cluster of the `auto` backend route tests: four nodes of the default topology — node1 and
 * node2 (and node4) share a segment (direct routes), node3 sits behind a router (VXLAN) — with
 * agents on node1..3 started before the tests, a 5 s lease TTL and a 1 s resync, and the checks
 * those tests repeat: every route as expected, and a pod reaching another.
 */
import { beforeAll } from "bun:test";
import { pollUntil } from "../../../src/base/poll-until.ts";
import { logTail } from "./agent-log.ts";
import type { AgentProcess } from "./cluster-agent.ts";
import { type PathKind, routeProblems } from "./route-problems.ts";
import { type ClusterPod, type TestCluster, useTestCluster } from "./test-cluster.ts";

export const TTL = 5;
/** node1, node2 (and node4) on lan1; node3 on lan2, behind the router. */
const lan1 = new Set(["node1", "node2", "node4"]);
export const autoPath = (from: string, to: string): PathKind =>
  lan1.has(from) && lan1.has(to) ? "direct" : "vxlan";

export interface AutoBackendCluster {
  readonly cluster: () => TestCluster;
  /** The agent last started on `name`. */
  agent(name: string): AgentProcess;
  /** Starts an auto-backend agent on `name` (5 s lease, 1 s resync). */
  start(c: TestCluster, name: string): AgentProcess;
  /** The last log lines of every agent started, for a failure message. */
  logs(): string;
  /** Polls until every route between `names` is as autoPath says; returns the time it took. */
  expectRoutes(c: TestCluster, names: readonly string[], timeoutMs?: number): Promise<number>;
  /** Polls until a TCP connection from `from` is answered by `to`, which sees `from`'s pod IP. */
  expectReach(c: TestCluster, from: ClusterPod, to: ClusterPod, timeoutMs?: number): Promise<void>;
}

/** Sets the cluster up for the enclosing test file (beforeAll) and returns its helpers. */
export function useAutoBackendCluster(): AutoBackendCluster {
  const cluster = useTestCluster(4);
  const agents = new Map<string, AgentProcess>();

  const agent = (name: string): AgentProcess => {
    const a = agents.get(name);
    if (!a) throw new Error(`no agent on ${name}`);
    return a;
  };
  const start = (c: TestCluster, name: string): AgentProcess => {
    const a = c.startAgent(name, { backend: "auto", leaseTtl: TTL, resync: 1 });
    agents.set(name, a);
    return a;
  };
  const logs = (): string => [...agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a)}`).join("\n");

  const expectRoutes = async (
    c: TestCluster,
    names: readonly string[],
    timeoutMs = 5000,
  ): Promise<number> => {
    let last: string[] = [];
    const { ms } = await pollUntil(
      `routes between ${names.join(", ")}`,
      () => {
        last = routeProblems(c, names, autoPath);
        return last.length === 0;
      },
      timeoutMs,
      { detail: () => `${last.join("\n")}\n${logs()}` },
    );
    return ms;
  };

  const expectReach = async (c: TestCluster, from: ClusterPod, to: ClusterPod, timeoutMs = 5000) => {
    let last = "";
    await pollUntil(
      `${from.name} → ${to.name}`,
      async () => {
        try {
          const p = await c.probe(from.netns, to.ip, 1000);
          if (p.reply.pod === to.name && p.reply.from === from.ip && p.reply.ip === to.ip) return true;
          last = JSON.stringify(p.reply);
        } catch (e) {
          last = (e as Error).message;
        }
        return false;
      },
      timeoutMs,
      { detail: () => last },
    );
  };

  beforeAll(async () => {
    const c = cluster();
    for (const n of ["node1", "node2", "node3"]) start(c, n);
    await Promise.all(["node1", "node2", "node3"].map((n) => c.waitReady(agent(n))));
  });

  return { cluster, agent, start, logs, expectRoutes, expectReach };
}

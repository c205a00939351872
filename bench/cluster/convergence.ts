/**
 * Convergence: N-1 agents run on an N-node underlay (one L2 segment) sharing a datastore; once
 * every one of them routes to every other, the N-th agent starts, and the clock runs from its
 * spawn until every other node's kernel has a route to its block. The times come from the
 * kernel's own route notifications (`ip -ts monitor route` in each node), so polling does not
 * load the agents being measured. Also read: every agent's resident memory with N-1 peers, their
 * route-sync metrics, and the joining agent's own start milestones from its log.
 */
import { mkdirSync } from "node:fs";
import { ROUTE_PROTO } from "../../src/agent/route-diff.ts";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { buildUnderlay } from "../../src/lab/underlay.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { LogEntry } from "../../testkit/agent-log.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import type { AgentSnapshot } from "./agent-snapshot.ts";
import { snapshotAgents, snapshotDelta } from "./agent-snapshot.ts";
import type { StartTimeline } from "./agent-timeline.ts";
import { problems, startTimeline } from "./agent-timeline.ts";
import type { AgentMemory } from "./bench-agent.ts";
import { BenchAgent, startInBatches } from "./bench-agent.ts";
import { segmentTopology } from "./bench-topology.ts";
import { RouteMonitor } from "./route-monitor.ts";

export interface ConvergenceOptions {
  readonly nodes: number;
  readonly backend: Backend;
  readonly clusterCidr: string;
  readonly segmentCidr: string;
  /** Agents started at once while the first N-1 come up. */
  readonly startBatch: number;
  readonly readyTimeoutMs: number;
  readonly convergeTimeoutMs: number;
  readonly leaseTtlSeconds: number;
  readonly resyncSeconds: number;
  /** How long the meshed agents are watched doing nothing in particular. */
  readonly idleMs: number;
}

export interface ConvergenceRun {
  readonly backend: Backend;
  readonly nodes: number;
  /** Starting the first N-1 agents until all were ready, then until every one routed to all others. */
  readonly bootSeconds: number;
  readonly meshSeconds: number;
  /** The N-1 agents left alone for a while once meshed: their background work (timers, resyncs). */
  readonly idle: AgentSnapshot & { readonly seconds: number };
  readonly joiner: {
    readonly node: string;
    readonly block: string;
    /** From the spawn: the agent's log milestones, and when the benchmark saw its readiness marker. */
    readonly timeline: StartTimeline;
    readonly readyMs: number;
  };
  /** Per peer, ms from the joiner's spawn until its kernel had the route; sorted. */
  readonly arrivalsMs: readonly number[];
  readonly missing: readonly string[];
  /** The last peer's arrival: null when some peer never got the route within the deadline. */
  readonly convergenceMs: number | null;
  readonly exampleRoute: string | undefined;
  readonly memory: { readonly joiner: AgentMemory | undefined; readonly all: readonly AgentMemory[] };
  /** What the join cost: the peers' syncs and CPU from just before the spawn until convergence, and the joiner's since its spawn. */
  readonly join: { readonly peers: AgentSnapshot; readonly joiner: AgentSnapshot };
  readonly logProblems: readonly string[];
}

// A route no agent manages (protocol 201, a benchmarking-range address) that proves each
// monitor is subscribed before the clock starts.
const PROBE = { dst: "198.18.0.1", proto: "201" } as const;

async function ipIn(netns: string, args: readonly string[]): Promise<string> {
  const r = await run(inNetns(netns, ["ip", ...args]), { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")} in ${netns} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

async function routeCount(netns: string): Promise<number> {
  const out = await ipIn(netns, ["-4", "route", "show", "proto", ROUTE_PROTO]);
  return out.split("\n").filter((l) => l.trim() !== "").length;
}

/** Polls 49 namespaces at most ten times a second: every check costs the busy nodes CPU. */
const EVERY_100_MS = { intervalMs: 100 } as const;

export async function measureConvergence(
  sandbox: BenchSandbox,
  exe: string,
  tag: string,
  options: ConvergenceOptions,
  progress: (message: string) => void,
): Promise<ConvergenceRun> {
  const names = Array.from({ length: options.nodes }, (_, i) => `node${i + 1}`);
  const topology = segmentTopology(options.segmentCidr, names);
  const prefix = `${tag}-`;
  const netnsOf = (node: string) => sandbox.netnsName(`${prefix}${node}`);
  const dir = `${sandbox.dir}/${tag}`;
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  buildUnderlay(
    topology,
    {
      switchNetns: (s) => sandbox.netnsName(`${prefix}sw-${s}`),
      routerNetns: sandbox.netnsName(`${prefix}router`),
      hostNetns: netnsOf,
    },
    topology.nodes,
  );
  progress(
    `${tag}: underlay of ${options.nodes} nodes built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const agents: BenchAgent[] = [];
  const monitors: RouteMonitor[] = [];
  const { backend, clusterCidr, leaseTtlSeconds, resyncSeconds } = options;
  const cluster = {
    datastore: `sqlite:${dir}/cluster.db`,
    backend,
    clusterCidr,
    leaseTtlSeconds,
    resyncSeconds,
  };
  const start = (node: string) =>
    BenchAgent.startNode(sandbox, exe, node, netnsOf, dir, { ...cluster, cniMode: "bridge" });
  try {
    const peers = names.slice(0, -1);
    const bootSeconds = await startInBatches(
      peers,
      options.startBatch,
      start,
      agents,
      options.readyTimeoutMs,
    );
    progress(`${tag}: ${peers.length} ${options.backend} agents ready in ${bootSeconds.toFixed(1)} s`);
    const meshStart = performance.now();
    await pollUntil(
      `the first ${peers.length} nodes to route to each other`,
      async () => {
        const counts = await Promise.all(peers.map((n) => routeCount(netnsOf(n))));
        return counts.every((c) => c === peers.length - 1);
      },
      options.readyTimeoutMs,
      EVERY_100_MS,
    );
    const meshSeconds = (performance.now() - meshStart) / 1000;
    progress(`${tag}: full mesh of ${peers.length} nodes after ${meshSeconds.toFixed(1)} s more`);
    const idleFrom = await snapshotAgents(agents);
    const idleStart = performance.now();
    await Bun.sleep(options.idleMs);
    const idle = {
      ...snapshotDelta(idleFrom, await snapshotAgents(agents)),
      seconds: (performance.now() - idleStart) / 1000,
    };

    monitors.push(...peers.map((n) => new RouteMonitor(sandbox, netnsOf(n))));
    const probeSince = Date.now() - 1;
    await Promise.all(
      peers.map((n) => ipIn(netnsOf(n), ["route", "add", "blackhole", PROBE.dst, "proto", PROBE.proto])),
    );
    await pollUntil(
      "the route monitors to report the probe route",
      () => monitors.every((m) => m.firstAdd(PROBE.dst, PROBE.proto, probeSince) !== undefined),
      10_000,
      EVERY_100_MS,
    );
    await Promise.all(
      peers.map((n) => ipIn(netnsOf(n), ["route", "del", "blackhole", PROBE.dst, "proto", PROBE.proto])),
    );

    const before = await snapshotAgents(agents);
    const joinerName = names[names.length - 1] as string;
    const joiner = start(joinerName);
    agents.push(joiner);
    const origin = joiner.spawnedAtMs;
    await joiner.waitReady(options.readyTimeoutMs);
    const readyMs = Date.now() - origin;
    const block = joiner.blocks()[0];
    if (block === undefined) throw new Error(`the agent of ${joinerName} reports no block`);
    const arrivalOf = (m: RouteMonitor) => m.firstAdd(block, ROUTE_PROTO, origin);
    await pollUntil(
      `every node to route to ${joinerName}'s block ${block}`,
      () => monitors.every((m) => arrivalOf(m) !== undefined),
      options.convergeTimeoutMs,
      EVERY_100_MS,
    ).catch((e: Error) => progress(`${tag}: ${e.message}`));
    const peersAfter = await snapshotAgents(agents.filter((a) => a !== joiner));
    const joinerAfter = await snapshotAgents([joiner]);
    const arrivals = monitors.map((m) => ({ netns: m.netns, event: arrivalOf(m) }));
    const missing = arrivals.filter((a) => a.event === undefined).map((a) => a.netns);
    const arrivalsMs = arrivals
      .flatMap((a) => (a.event ? [a.event.atMs - origin] : []))
      .sort((a, b) => a - b);
    // The monitors saw the route appear; make sure no agent took it away again since.
    for (const p of peers) {
      const out = await ipIn(netnsOf(p), ["-4", "route", "show", "proto", ROUTE_PROTO]);
      if (!out.split("\n").some((l) => l.startsWith(`${block} `)) && !missing.includes(netnsOf(p)))
        missing.push(`${netnsOf(p)} (route gone again)`);
    }
    const memory = { joiner: joiner.memory(), all: agents.flatMap((a) => a.memory() ?? []) };
    const entries: LogEntry[] = joiner.logEntries();
    const logProblems = agents.flatMap((a) =>
      problems(a.logEntries(), origin).map(
        (e) => `${a.spec.node}: ${e.level} ${e.msg} ${JSON.stringify(e.fields)}`,
      ),
    );
    const last = arrivalsMs[arrivalsMs.length - 1];
    return {
      backend: options.backend,
      nodes: options.nodes,
      bootSeconds,
      meshSeconds,
      idle,
      joiner: { node: joinerName, block, timeline: startTimeline(entries, origin), readyMs },
      arrivalsMs,
      missing,
      convergenceMs: missing.length === 0 && last !== undefined ? last : null,
      exampleRoute: monitors[0] ? arrivalOf(monitors[0])?.text : undefined,
      memory,
      join: { peers: snapshotDelta(before, peersAfter), joiner: joinerAfter },
      logProblems: logProblems.slice(0, 10),
    };
  } finally {
    await Promise.all(monitors.map((m) => m.stop()));
    await Promise.all(agents.map((a) => sandbox.stop(a.child)));
    const failures = sandbox.removeNamespaces(prefix);
    if (failures.length > 0) progress(`${tag}: could not remove ${failures.join("; ")}`);
  }
}

/**
 * BGP convergence and withdrawal: N-1 bgp agents on two segments peer with the router's BIRD
 * (route reflector), then, per round, node N's agent
 * 1. starts → ms until the router's kernel has its block (proto bird) and until every other
 *    node's kernel has it (convergence);
 * 2. stops with SIGTERM (graceful restart off: its BIRD sends a Cease) → ms until the router and
 *    every node lost the block (clean withdrawal);
 * 3. starts again (a second convergence sample);
 * 4. dies: its switch port goes down (its BIRD's TCP session can say nothing more), then the
 *    agent and its BIRD are SIGKILLed → ms until withdrawn, bound by the router's hold time.
 * The times are the kernels' own route notifications (`ip -ts monitor route` in the router and
 * every node), as in convergence.ts.
 */
import { mkdirSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { buildUnderlay } from "../../src/lab/underlay.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import { problems, startTimeline } from "./agent-timeline.ts";
import { BenchAgent, startInBatches } from "./bench-agent.ts";
import { BIRD_PROTO, birdPidOf, birdRouteCount, ipIn, kill, proveListening } from "./bgp-netns.ts";
import { startBenchRouter, writeBenchBgpConfig } from "./bgp-router.ts";
import type { BgpSpread } from "./bgp-spread.ts";
import { spreadOf } from "./bgp-spread.ts";
import { twoSegmentTopology } from "./bgp-topology.ts";
import { RouteMonitor } from "./route-monitor.ts";

export { BIRD_PROTO } from "./bgp-netns.ts";

export interface BgpConvergenceOptions {
  readonly nodes: number;
  readonly rounds: number;
  readonly clusterCidr: string;
  readonly segmentCidrs: readonly [string, string];
  readonly startBatch: number;
  readonly readyTimeoutMs: number;
  readonly convergeTimeoutMs: number;
  readonly leaseTtlSeconds: number;
  readonly resyncSeconds: number;
}

export interface BgpJoinerTimeline {
  readonly firstLogMs: number | null;
  readonly blocksLeasedMs: number | null;
  readonly birdStartedMs: number | null;
  readonly readyMs: number | null;
}

export interface BgpConvergenceRun {
  readonly nodes: number;
  readonly holdTimeSeconds: number;
  readonly keepaliveSeconds: number;
  readonly bootSeconds: number;
  readonly meshSeconds: number;
  readonly joiner: { readonly node: string; readonly segment: string; readonly block: string };
  /** Two per round: the start after the death of the previous round (or the first) and after the clean stop. */
  readonly starts: readonly BgpSpread[];
  /** The joiner's own milestones per start, ms from its spawn (its log). */
  readonly joinerTimelines: readonly BgpJoinerTimeline[];
  readonly cleanStops: readonly BgpSpread[];
  readonly deaths: readonly BgpSpread[];
  readonly exampleRoute: string | undefined;
  readonly logProblems: readonly string[];
}

const EVERY_100_MS = { intervalMs: 100 } as const;

export async function measureBgpConvergence(
  sandbox: BenchSandbox,
  exe: string,
  options: BgpConvergenceOptions,
  progress: (message: string) => void,
): Promise<BgpConvergenceRun> {
  const tag = "bg";
  const names = Array.from({ length: options.nodes }, (_, i) => `node${i + 1}`);
  const topology = twoSegmentTopology(options.segmentCidrs, names);
  const netnsOf = (local: string) => sandbox.netnsName(`${tag}-${local}`);
  const routerNetns = netnsOf("router");
  const dir = `${sandbox.dir}/${tag}`;
  mkdirSync(dir, { recursive: true });
  buildUnderlay(
    topology,
    { switchNetns: (s) => netnsOf(`sw-${s}`), routerNetns, hostNetns: netnsOf },
    topology.nodes,
  );
  const datastore = `sqlite:${dir}/cluster.db`;
  const bgp = await writeBenchBgpConfig(datastore, topology);
  const router = await startBenchRouter(sandbox, routerNetns, dir, topology, bgp, [options.clusterCidr]);
  progress(
    `${tag}: ${options.nodes} nodes on ${options.segmentCidrs.join(" and ")}, router BIRD pid ${router.bird.pid} (hold ${bgp.holdTimeSeconds} s, keepalive ${bgp.keepaliveSeconds} s)`,
  );
  const agents: BenchAgent[] = [];
  const monitors: RouteMonitor[] = [];
  const { clusterCidr, leaseTtlSeconds, resyncSeconds } = options;
  const cluster = { datastore, backend: "bgp", clusterCidr, leaseTtlSeconds, resyncSeconds } as const;
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
    const meshStart = performance.now();
    await pollUntil(
      `the router to route ${peers.length} blocks and every node the ${peers.length - 1} others'`,
      async () => {
        if ((await birdRouteCount(routerNetns)) !== peers.length) return false;
        const counts = await Promise.all(peers.map((n) => birdRouteCount(netnsOf(n))));
        return counts.every((c) => c === peers.length - 1);
      },
      options.readyTimeoutMs,
      EVERY_100_MS,
    );
    const meshSeconds = (performance.now() - meshStart) / 1000;
    progress(
      `${tag}: ${peers.length} bgp agents ready in ${bootSeconds.toFixed(1)} s, all routes over BGP ${meshSeconds.toFixed(1)} s later`,
    );

    const watched = [routerNetns, ...peers.map(netnsOf)];
    monitors.push(...watched.map((n) => new RouteMonitor(sandbox, n)));
    await proveListening(monitors);
    const [routerMonitor, ...peerMonitors] = monitors as [RouteMonitor, ...RouteMonitor[]];
    const joinerName = names[names.length - 1] as string;
    const joinerHost = topology.nodes[topology.nodes.length - 1] as (typeof topology.nodes)[number];
    const port = `p-${joinerName}`.slice(0, 15);
    const switchNetns = netnsOf(`sw-${joinerHost.segment}`);
    let block = "";
    let exampleRoute: string | undefined;
    const deadline = (timeoutMs: number, what: string, done: () => boolean) =>
      pollUntil(what, done, timeoutMs, EVERY_100_MS).catch((e: Error) => progress(`${tag}: ${e.message}`));
    /** Waits until every kernel saw the event (or the deadline), then reads the spread. */
    const observe = async (
      round: number,
      origin: number,
      pick: (m: RouteMonitor) => { atMs: number } | undefined,
      timeoutMs: number,
      what: string,
    ): Promise<BgpSpread> => {
      await deadline(timeoutMs, what, () => monitors.every((m) => pick(m) !== undefined));
      return spreadOf(
        round,
        origin,
        { where: "router", atMs: pick(routerMonitor)?.atMs },
        peerMonitors.map((m) => ({ where: m.netns, atMs: pick(m)?.atMs })),
      );
    };
    const starts: BgpSpread[] = [];
    const joinerTimelines: BgpJoinerTimeline[] = [];
    const cleanStops: BgpSpread[] = [];
    const deaths: BgpSpread[] = [];
    const startJoiner = async (round: number): Promise<BenchAgent> => {
      const joiner = start(joinerName);
      agents.push(joiner);
      const origin = joiner.spawnedAtMs;
      await joiner.waitReady(options.readyTimeoutMs);
      block = joiner.blocks()[0] ?? "";
      if (block === "") throw new Error(`the agent of ${joinerName} reports no block`);
      const s = await observe(
        round,
        origin,
        (m) => m.firstAdd(block, BIRD_PROTO, origin),
        options.convergeTimeoutMs,
        `the router and every node to route to ${joinerName}'s block ${block}`,
      );
      exampleRoute ??= peerMonitors
        .find((m) => m.netns === netnsOf("node1"))
        ?.firstAdd(block, BIRD_PROTO, origin)?.text;
      starts.push(s);
      const entries = joiner.logEntries().filter((e) => e.atMs >= origin - 1);
      const bird = entries.find((e) => e.msg === "BIRD started");
      const { firstLogMs, blocksLeasedMs, readyMs } = startTimeline(entries, origin);
      joinerTimelines.push({
        firstLogMs,
        blocksLeasedMs,
        birdStartedMs: bird ? bird.atMs - origin : null,
        readyMs,
      });
      progress(
        `${tag} round ${round + 1}: start → router ${s.routerMs?.toFixed(0)} ms, all ${s.allMs?.toFixed(0) ?? "n/a"} ms`,
      );
      return joiner;
    };
    const withdrawTimeoutMs = (bgp.holdTimeSeconds + 10) * 1000;
    for (let round = 0; round < options.rounds; round++) {
      let joiner = await startJoiner(round);
      const stopAt = Date.now();
      await sandbox.stop(joiner.child);
      const clean = await observe(
        round,
        stopAt,
        (m) => m.firstDelete(block, BIRD_PROTO, stopAt),
        withdrawTimeoutMs,
        `every kernel to drop ${block} after SIGTERM`,
      );
      cleanStops.push(clean);
      progress(`${tag} round ${round + 1}: SIGTERM → all withdrawn ${clean.allMs?.toFixed(0) ?? "n/a"} ms`);

      joiner = await startJoiner(round);
      const birdPid = birdPidOf(joiner);
      if (birdPid === undefined)
        throw new Error(`no BIRD pid of ${joinerName}'s agent under ${joiner.stateDir}/bgp`);
      const cutAt = Date.now();
      await ipIn(switchNetns, ["link", "set", "dev", port, "down"]);
      kill(joiner.pid);
      kill(birdPid);
      await joiner.child.proc.exited;
      const death = await observe(
        round,
        cutAt,
        (m) => m.firstDelete(block, BIRD_PROTO, cutAt),
        withdrawTimeoutMs,
        `every kernel to drop ${block} after the node died`,
      );
      deaths.push(death);
      progress(
        `${tag} round ${round + 1}: link cut + SIGKILL → all withdrawn ${death.allMs?.toFixed(0) ?? "n/a"} ms`,
      );
      await ipIn(switchNetns, ["link", "set", "dev", port, "up"]);
    }
    const firstJoin = agents[peers.length]?.spawnedAtMs ?? Date.now();
    // The joiner's starts share one log file: each line once.
    const logProblems = agents.flatMap((a) =>
      problems(a.logEntries(), firstJoin).map(
        (e) => `${a.spec.node}: ${e.level} ${e.msg} ${JSON.stringify(e.fields)}`,
      ),
    );
    return {
      nodes: options.nodes,
      holdTimeSeconds: bgp.holdTimeSeconds,
      keepaliveSeconds: bgp.keepaliveSeconds,
      bootSeconds,
      meshSeconds,
      joiner: { node: joinerName, segment: joinerHost.segment, block },
      starts,
      joinerTimelines,
      cleanStops,
      deaths,
      exampleRoute,
      logProblems: [...new Set(logProblems)].slice(0, 10),
    };
  } finally {
    await Promise.all(monitors.map((m) => m.stop()));
    await Promise.all(agents.map((a) => sandbox.stop(a.child)));
    // Agents SIGKILLed above left no BIRD (killed with them); a stopped agent stops its own.
    await router.close();
    const failures = sandbox.removeNamespaces(`${tag}-`);
    if (failures.length > 0) progress(`${tag}: could not remove ${failures.join("; ")}`);
  }
}

/**
 * The bgp part of `npm run bench:cluster`: convergence and withdrawal on a cluster of bgp agents
 * behind a BIRD router (bgp-convergence.ts), then pod-to-pod throughput across the router
 * (bgp-throughput.ts), one after the other on a quiet machine. A step that fails is counted and
 * the other still runs.
 */
import type { BenchSandbox } from "../support/sandbox.ts";
import type { BgpConvergenceRun } from "./bgp-convergence.ts";
import { measureBgpConvergence } from "./bgp-convergence.ts";
import type { BgpThroughputRun } from "./bgp-throughput.ts";
import { measureBgpThroughput } from "./bgp-throughput.ts";

/** Documentation ranges: the lab's lan1 and lan2. */
export const BGP_SEGMENTS = ["192.0.2.0/24", "198.51.100.0/24"] as const;

export interface BgpPartOptions {
  readonly nodes: number;
  readonly rounds: number;
  readonly startBatch: number;
  readonly throughputRounds: number;
  readonly iperfSeconds: number;
  readonly iperfOmit: number;
  readonly cniMode: "bridge" | "ptp";
  readonly clusterCidr: string;
  readonly leaseTtlSeconds: number;
  readonly resyncSeconds: number;
}

export interface BgpPartRun {
  readonly convergence?: BgpConvergenceRun;
  readonly throughput?: BgpThroughputRun;
}

export async function measureBgpPart(
  sandbox: BenchSandbox,
  exe: string,
  o: BgpPartOptions,
  fail: (message: string) => void,
  progress: (message: string) => void,
): Promise<BgpPartRun> {
  let convergence: BgpConvergenceRun | undefined;
  let throughput: BgpThroughputRun | undefined;
  const agentTimers = { leaseTtlSeconds: o.leaseTtlSeconds, resyncSeconds: o.resyncSeconds };
  try {
    convergence = await measureBgpConvergence(
      sandbox,
      exe,
      {
        nodes: o.nodes,
        rounds: o.rounds,
        clusterCidr: o.clusterCidr,
        segmentCidrs: BGP_SEGMENTS,
        startBatch: o.startBatch,
        readyTimeoutMs: 60_000,
        convergeTimeoutMs: 20_000,
        ...agentTimers,
      },
      progress,
    );
    const lost = [...convergence.starts, ...convergence.cleanStops, ...convergence.deaths].flatMap(
      (s) => s.missing,
    );
    if (lost.length > 0) fail(`bgp convergence/withdrawal not seen on ${[...new Set(lost)].join(", ")}`);
  } catch (e) {
    fail(`bgp convergence: ${(e as Error).message}`);
  }
  try {
    throughput = await measureBgpThroughput(
      sandbox,
      exe,
      {
        rounds: o.throughputRounds,
        seconds: o.iperfSeconds,
        omitSeconds: o.iperfOmit,
        segmentCidrs: BGP_SEGMENTS,
        cniMode: o.cniMode,
        readyTimeoutMs: 30_000,
        ...agentTimers,
      },
      fail,
      progress,
    );
  } catch (e) {
    fail(`bgp throughput: ${(e as Error).message}`);
  }
  return { ...(convergence ? { convergence } : {}), ...(throughput ? { throughput } : {}) };
}

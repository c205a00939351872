/**
 * What the cluster benchmark's report tests build their raw results from: iperf3 runs of named
 * paths given as Gbit/s per round, and the parts of RawResults every report has.
 */
import type { IperfResult } from "./iperf-result.ts";
import type { PathSample, PathsRun } from "./iperf-rounds.ts";
import type { RawResults } from "./report.ts";

/**
 * A throughput run: `gbps[path][round]` as every sample's received and sent rate (a round a path
 * lacks is left out), the rest of each result from `result`, paths in `order` within a round.
 */
export function pathsRunOf<K extends string>(
  order: readonly K[],
  gbps: Record<K, readonly (number | undefined)[]>,
  mtu: Record<K, number>,
  result: Omit<IperfResult, "receivedBps" | "sentBps">,
): PathsRun<K> {
  const samples: PathSample<K>[] = [];
  const rounds = Math.max(...order.map((p) => gbps[p].length));
  for (let round = 0; round < rounds; round++) {
    for (const path of order) {
      const v = gbps[path][round];
      if (v === undefined) continue;
      samples.push({ path, round, result: { receivedBps: v * 1e9, sentBps: v * 1e9, ...result } });
    }
  }
  const paths = {} as Record<K, { from: string; to: string; mtu: number }>;
  for (const path of order) paths[path] = { from: "a", to: "b", mtu: mtu[path] };
  return { paths, samples };
}

/** The run's frame: when, on what machine, with which podnet and iperf3 options; no part measured. */
export const RUN_FRAME: Pick<RawResults, "startedAt" | "durationSeconds" | "machine" | "podnet" | "options"> =
  {
    startedAt: "2026-01-01T00:00:00.000Z",
    durationSeconds: 70.1234,
    machine: {
      cpus: 2,
      kernel: "6.1.0",
      bun: "1.4.5",
      memoryGiB: 23.5,
      loadAverage: { start: 0.25, end: 1.5 },
    },
    podnet: {
      binary: "/x/podnet",
      version: "0.1.0",
      modified: "2026-01-01T00:00:00.000Z",
      replacedDuringRun: false,
    },
    options: { iperfSeconds: 5, iperfOmit: 1, throughputRounds: 2 },
  };

/**
 * What the proxy benchmark's report tests build their raw results from: sync runs given as total
 * times per change (the reference and through ProxyState), connection cases given as connect
 * times (podnet's table loaded in 10 ms, replaced in 12, by nft -f in 30; the iptables layout's in
 * 200), and one of each memory figure.
 */
import type { AgentMemoryResult } from "./agent-memory.ts";
import type { ApplyPath, StateSyncRun } from "./incremental-report.ts";
import type { LatencyCase, Subject } from "./latency-bench.ts";
import type { MemoryResult } from "./memory-bench.ts";
import type { BenchOptions, RawResults } from "./report.ts";
import type { SyncRun } from "./sync-bench.ts";

export const OPTIONS: BenchOptions = {
  parts: ["sync", "latency", "memory"],
  sizes: [1000, 10_000],
  endpointsPerService: 10,
  repetitions: 3,
  changes: 4,
  burst: 100,
  bursts: 3,
  nftSession: true,
  latencySizes: [100, 10_000],
  connections: 4,
  rounds: 2,
  warmup: 1,
  memoryServices: 10_000,
  agentSettleSeconds: 3,
  seed: 1,
};

function stateRun(services: number, path: ApplyPath, changes: number, totalMs: number[]): StateSyncRun {
  return {
    services,
    path,
    changes,
    renderMs: totalMs.map(() => 0.5),
    applyMs: totalMs.map((t) => t - 0.5),
    totalMs,
    transactionLines: totalMs.map(() => 3 * changes),
    fallbacks: path === "nft -i" && changes > 1 ? totalMs.length : 0,
  };
}

/** ProxyState rows: single changes through both paths (nft -i at half the cost), and a burst. */
function stateRuns(services: number, stateMs: number[]): StateSyncRun[] {
  return [
    stateRun(services, "nft -f", 1, stateMs),
    stateRun(
      services,
      "nft -i",
      1,
      stateMs.map((t) => t / 2),
    ),
    stateRun(services, "nft -f", 100, [30, 31, 32]),
    // Every burst was too long for one nft -i line: all went to nft -f.
    stateRun(services, "nft -i", 100, [20, 21, 22]),
  ];
}

export function syncRun(
  services: number,
  totalMs: number[],
  incrementalMs: number[],
  stateMs: number[] = [4, 5, 6, 5],
): SyncRun {
  return {
    full: {
      services,
      endpointsPerService: 10,
      renderMs: totalMs.map((t) => t / 4),
      applyMs: totalMs.map((t) => (3 * t) / 4),
      totalMs,
      textBytes: 2 ** 20,
      textLines: 1234,
      problems: 0,
    },
    incremental: {
      services,
      renderMs: incrementalMs.map(() => 1),
      applyMs: incrementalMs.map((t) => t - 1),
      totalMs: incrementalMs,
      transactionLines: incrementalMs.map(() => 12),
    },
    state: stateRuns(services, stateMs),
  };
}

export function latencyCase(subject: Subject, services: number, connectMs: number[]): LatencyCase {
  return {
    subject,
    services,
    rulesetBytes: 1000,
    loadMs: subject === "podnet" ? 10 : 200,
    ...(subject === "podnet" ? { replaceMs: 12, nftFileMs: 30 } : {}),
    connectMs: { last: connectMs.slice(0, 2), random: connectMs.slice(2) },
    firstByteMs: {
      last: connectMs.slice(0, 2).map((v) => v * 2),
      random: connectMs.slice(2).map((v) => v * 2),
    },
    errors: 0,
    wrongEndpoint: 0,
    firstErrors: [],
  };
}

export const MEMORY: MemoryResult = {
  services: 10_000,
  endpointsPerService: 10,
  startRssMiB: 30,
  rssMiB: 150.4444,
  vmRssMiB: 151,
  vmHwmMiB: 210,
  heapUsedMiB: 90,
  textMiB: 8,
  workMs: 400,
  problems: 0,
};

export const AGENT: AgentMemoryResult = {
  measured: true,
  services: 10_000,
  endpoints: 100_000,
  withProxy: { empty: { rssMiB: 60, hwmMiB: 61 }, loaded: { rssMiB: 180.5, hwmMiB: 240 } },
  withoutProxy: { empty: { rssMiB: 59, hwmMiB: 60 }, loaded: { rssMiB: 80.25, hwmMiB: 80 } },
  tableMs: 12_345,
  measuredAfterMs: 15_345,
};

export function raw(overrides: Partial<RawResults> = {}): RawResults {
  return {
    startedAt: "2026-01-01T00:00:00.000Z",
    durationSeconds: 100,
    machine: {
      cpus: 2,
      kernel: "6.1",
      bun: "1.4.5",
      nft: "nftables v1.0.6",
      memoryGiB: 8,
      loadAverage: { start: 0.1, end: 0.2 },
    },
    options: OPTIONS,
    podnet: null,
    nftFloor: { netnsExecMs: 4, nftDevNullMs: 13.5, nftEmptyStdinMs: 14 },
    sync: [
      syncRun(1000, [300, 200, 250], [10, 12, 11, 9]),
      syncRun(10_000, [1900, 2500, 1800], [40, 50, 60, 45], [6, 7, 8, 7]),
    ],
    latency: [
      latencyCase("podnet", 100, [0.1, 0.1, 0.1, 0.1]),
      latencyCase("podnet", 10_000, [0.11, 0.11, 0.11, 0.11]),
      latencyCase("iptables", 100, [0.1, 0.1, 0.1, 0.1]),
      latencyCase("iptables", 10_000, [0.5, 0.5, 0.3, 0.3]),
    ],
    memory: MEMORY,
    agentMemory: null,
    failures: [],
    ...overrides,
  };
}

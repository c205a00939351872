import { errorText } from "../../src/base/error-text.ts";
import { flag, type ParsedArgs, UsageError } from "../../src/cli/args.ts";
import { runSync } from "../../src/linux/exec.ts";
import { deleteNetns } from "../../src/linux/netns.ts";
import { intFlag, listFlag, progress, publishReport, runBench } from "../support/bench-cli.ts";
import { podnetUnderTest, runnerArgs, startRun } from "../support/bench-run.ts";
import { preflight } from "../support/preflight.ts";
import { BenchSandbox } from "../support/sandbox.ts";
import { type AgentMemoryResult, measureAgentMemory } from "./agent-memory.ts";
import { APPLY_PATHS } from "./incremental-report.ts";
import type { LatencyCase } from "./latency-bench.ts";
import { measureLatency } from "./latency-bench.ts";
import type { MemoryResult } from "./memory-bench.ts";
import { measureProxyMemory } from "./memory-bench.ts";
import { measureNftFloor, type NftFloor } from "./nft-apply.ts";
import type { BenchOptions } from "./report.ts";
import { buildReport, PARTS } from "./report.ts";
import { benchInput } from "./service-input.ts";
import { measureStateSync } from "./state-sync-bench.ts";
import type { SyncRun } from "./sync-bench.ts";
import { measureSync } from "./sync-bench.ts";
import { renderTable } from "./table.ts";

const USAGE = `usage: bun bench/proxy/run.ts [options]   (as root)
  --parts LIST           what to measure (default sync,latency,memory,agent-memory)
  --sizes LIST           Services for full and incremental sync (default 1000,10000)
  --endpoints N          endpoints per Service (default 10)
  --repetitions N        full syncs per size, each into a fresh namespace (default 3)
  --changes N            incremental syncs per size, one endpoint each (default 20)
  --burst N              Services changed in one burst through ProxyState (default 100)
  --bursts N             bursts per size and apply path (default 3)
  --nft-session on|off   also apply ProxyState's transactions through one nft -i session (default on)
  --latency-sizes LIST   the small and the large table for connection setup (default 100,10000)
  --connections N        measured connections per case (default 2000)
  --rounds N             rounds the cases alternate in (default 4)
  --warmup N             unmeasured connections per client process (default 50)
  --memory-services N    Services for the memory measurements, bench process and agent (default 10000)
  --agent-settle N       seconds the agents run on after the table is complete (default 3)
  --podnet PATH          the podnet build whose agent is measured (default dist/podnet, built when missing)
  --build                rebuild dist/podnet first
  --seed N               seed of the random choices (default 1)
  --json FILE            also write the JSON report to FILE`;

const MAX_SERVICES = 50_000;

function sizesFlag(args: ParsedArgs, name: string, fallback: readonly number[]): number[] {
  const text = flag(args, name);
  if (text === undefined) return [...fallback];
  const sizes = text.split(",").map(Number);
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_SERVICES))
    throw new UsageError(`--${name} "${text}" must be a list of integers from 1 to ${MAX_SERVICES}`);
  return [...new Set(sizes)].sort((a, b) => a - b);
}

function onOffFlag(args: ParsedArgs, name: string, fallback: boolean): boolean {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  if (text !== "on" && text !== "off") throw new UsageError(`--${name} "${text}" must be on or off`);
  return text === "on";
}

function nftVersion(): string {
  const r = runSync(["nft", "--version"]);
  return r.code === 0 ? r.stdout.trim() : "nft (version unknown)";
}

async function main(argv: readonly string[]): Promise<number> {
  const args = runnerArgs(argv, USAGE, {
    values: [
      "parts",
      "sizes",
      "endpoints",
      "repetitions",
      "changes",
      "burst",
      "bursts",
      "nft-session",
      "latency-sizes",
      "connections",
      "rounds",
      "warmup",
      "memory-services",
      "seed",
      "podnet",
      "agent-settle",
    ],
    booleans: ["build"],
  });
  if (args === undefined) return 0;
  const options: BenchOptions = {
    parts: listFlag(args, "parts", PARTS, PARTS),
    sizes: sizesFlag(args, "sizes", [1000, 10_000]),
    endpointsPerService: intFlag(args, "endpoints", 10, 1, 100),
    repetitions: intFlag(args, "repetitions", 3, 1, 20),
    changes: intFlag(args, "changes", 20, 0, 1000),
    burst: intFlag(args, "burst", 100, 1, MAX_SERVICES),
    bursts: intFlag(args, "bursts", 3, 0, 100),
    nftSession: onOffFlag(args, "nft-session", true),
    latencySizes: sizesFlag(args, "latency-sizes", [100, 10_000]),
    connections: intFlag(args, "connections", 2000, 1, 100_000),
    rounds: intFlag(args, "rounds", 4, 1, 50),
    warmup: intFlag(args, "warmup", 50, 0, 10_000),
    memoryServices: intFlag(args, "memory-services", 10_000, 1, MAX_SERVICES),
    agentSettleSeconds: intFlag(args, "agent-settle", 3, 0, 600),
    seed: intFlag(args, "seed", 1, 0, 2 ** 31 - 1),
  };
  if (options.parts.includes("latency") && options.latencySizes.length !== 2)
    throw new UsageError("--latency-sizes needs exactly two sizes: the small and the large table");
  const jsonFile = flag(args, "json");
  preflight("proxy benchmark", [
    { program: "ip", what: "iproute2" },
    { program: "nft", what: "nftables (the nft command)" },
  ]);
  const nft = nftVersion();
  const podnet = options.parts.includes("agent-memory") ? podnetUnderTest(args) : undefined;

  const bench = startRun();
  const { fail } = bench;

  const sandbox = new BenchSandbox("pbc");
  try {
    progress(`namespaces ${sandbox.prefix}*, files in ${sandbox.dir}`);
    // Memory first, while nothing else of ours holds CPU or kernel memory.
    let memory: MemoryResult | null = null;
    if (options.parts.includes("memory")) {
      try {
        memory = await measureProxyMemory(options.memoryServices, options.endpointsPerService);
        progress(`memory: ${memory.rssMiB.toFixed(1)} MiB RSS with ${options.memoryServices} Services`);
      } catch (e) {
        fail(`memory: ${(e as Error).message}`);
      }
    }

    let agentMemory: AgentMemoryResult | null = null;
    if (podnet !== undefined) {
      const { services } = benchInput({
        services: options.memoryServices,
        endpointsPerService: options.endpointsPerService,
        nodeIP: "198.51.100.1",
      });
      agentMemory = await measureAgentMemory(
        sandbox,
        podnet.binary,
        services,
        options.agentSettleSeconds * 1000,
        progress,
      );
      if (!agentMemory.measured) fail(`agent memory: ${agentMemory.reason}`);
    }

    let nftFloor: NftFloor | null = null;
    const sync: SyncRun[] = [];
    if (options.parts.includes("sync")) {
      sandbox.createNetns("nft0");
      nftFloor = await measureNftFloor(sandbox.netnsName("nft0"), 20);
      deleteNetns(sandbox.netnsName("nft0"));
      const paths = options.nftSession ? APPLY_PATHS : APPLY_PATHS.filter((p) => p !== "nft -i");
      for (const services of options.sizes) {
        const size = {
          services,
          endpointsPerService: options.endpointsPerService,
          changes: options.changes,
          warmupChanges: 2,
          seed: options.seed,
        };
        try {
          const reference = await measureSync(
            sandbox,
            { ...size, repetitions: options.repetitions },
            progress,
          );
          let state: SyncRun["state"] = [];
          try {
            state = await measureStateSync(
              sandbox,
              { ...size, burst: options.burst, bursts: options.bursts, paths },
              progress,
            );
          } catch (e) {
            fail(`sync through ProxyState, ${services} Services: ${errorText(e)}`);
          }
          sync.push({ ...reference, state });
        } catch (e) {
          fail(`sync of ${services} Services: ${errorText(e)}`);
        }
      }
    }

    let latency: LatencyCase[] = [];
    if (options.parts.includes("latency")) {
      try {
        latency = await measureLatency(
          sandbox,
          {
            sizes: options.latencySizes,
            endpointsPerService: options.endpointsPerService,
            connections: options.connections,
            rounds: options.rounds,
            warmup: options.warmup,
            seed: options.seed,
          },
          progress,
        );
        for (const c of latency)
          if (c.errors + c.wrongEndpoint > 0)
            fail(
              `${c.subject} with ${c.services} Services: ${c.errors} connections failed, ${c.wrongEndpoint} reached a wrong pod; first: ${c.firstErrors[0] ?? "?"}`,
            );
      } catch (e) {
        fail(`connection latency: ${(e as Error).message}`);
      }
    }

    const { machine, ...header } = bench.header();
    const report = buildReport({
      ...header,
      machine: { ...machine, nft },
      options,
      podnet: podnet?.build() ?? null,
      nftFloor,
      sync,
      latency,
      memory,
      agentMemory,
      failures: bench.failures,
    });
    return publishReport(renderTable(report), report, jsonFile);
  } finally {
    await sandbox.close();
  }
}

await runBench("bench:proxy", USAGE, main);

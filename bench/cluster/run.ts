/**
 * `npm run bench:cluster`: block-lease throughput against a 3-member etcd, convergence of a
 * 50-node cluster when one more node joins (host-gw and vxlan), the agents' memory, and
 * pod-to-pod TCP throughput next to the raw underlay, and the bgp backend (convergence and
 * withdrawal through a router running BIRD, throughput across it) — in network namespaces and on loopback
 * etcd members this run creates and removes. See bench/README.md for what is measured and how.
 * Progress goes to stderr; the table and the JSON report go to stdout.
 */
import { totalmem } from "node:os";
import { flag, type ParsedArgs, UsageError } from "../../src/cli/args.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { BIRD_BINARY } from "../../src/linux/bird-process.ts";
import { ETCD_BINARY, startEtcdCluster } from "../../src/linux/etcd-process.ts";
import { intFlag, listFlag, progress, publishReport, runBench } from "../support/bench-cli.ts";
import { podnetUnderTest, runnerArgs, startRun } from "../support/bench-run.ts";
import type { FileNeeded, ProgramNeeded } from "../support/preflight.ts";
import { preflight } from "../support/preflight.ts";
import { BenchSandbox } from "../support/sandbox.ts";

const BENCH_BACKENDS: readonly Exclude<Backend, "bgp">[] = ["host-gw", "vxlan", "auto"];
const BACKEND_TAGS: Readonly<Record<Exclude<Backend, "bgp">, string>> = {
  "host-gw": "hg",
  vxlan: "vx",
  auto: "au",
};

import { measureBgpPart } from "./bgp-part.ts";
import type { LeaseRound } from "./block-leases-bench.ts";
import { measureBlockLeases } from "./block-leases-bench.ts";
import type { ConvergenceRun } from "./convergence.ts";
import { measureConvergence } from "./convergence.ts";
import type { ThroughputRun } from "./pod-throughput.ts";
import { measurePodThroughput } from "./pod-throughput.ts";
import type { Part, RawResults } from "./report.ts";
import { buildReport, PARTS } from "./report.ts";
import { renderTable } from "./table.ts";

const USAGE = `usage: bun bench/cluster/run.ts [options]   (as root)
  --parts LIST             what to measure (default leases,convergence,throughput,bgp)
  --agents N               concurrent block claims against etcd (default 100)
  --lease-rounds N         rounds of those claims (default 3)
  --nodes N                cluster size for convergence and memory (default 50)
  --backends LIST          convergence backends (default host-gw,vxlan; also auto)
  --start-batch N          agents started at once while the first N-1 come up (default 10)
  --throughput-rounds N    rounds of raw, host-gw, vxlan iperf3 runs, and across
                           the router (bgp part) raw routed, static routes, bgp, vxlan (default 3)
  --iperf-seconds N        measured seconds per iperf3 run (default 5)
  --iperf-omit N           unmeasured seconds of TCP ramp-up before them (default 1)
  --bgp-nodes N            bgp part: nodes on two segments behind a BIRD router (default 10)
  --bgp-rounds N           bgp part: rounds of start, SIGTERM, start, link cut + SIGKILL of the last node (default 3)
  --cni-mode MODE          how the throughput pods attach: bridge (default, as the lab) or ptp
  --json FILE              also write the JSON report to FILE
  --podnet PATH            podnet executable (default dist/podnet, built when missing)
  --build                  rebuild dist/podnet first`;

const CLUSTER_CIDR = "10.244.0.0/16";
const CONVERGENCE_SEGMENT = "192.0.2.0/24";
const THROUGHPUT_SEGMENT = "198.51.100.0/24";
// The agent's own defaults (podnet agent --help): what an operator would run.
const LEASE_TTL_SECONDS = 60;
const RESYNC_SECONDS = 10;

function cniModeFlag(args: ParsedArgs): "bridge" | "ptp" {
  const mode = flag(args, "cni-mode") ?? "bridge";
  if (mode !== "bridge" && mode !== "ptp") throw new UsageError(`--cni-mode "${mode}" must be bridge or ptp`);
  return mode;
}

/** What the parts asked for run: programs on PATH, and etcd for the lease part. */
function needsOf(parts: readonly Part[]): (ProgramNeeded | FileNeeded)[] {
  const when = <T>(part: Part, needs: T[]): T[] => (parts.includes(part) ? needs : []);
  return [
    { program: "ip", what: "iproute2" },
    ...when("convergence", [{ program: "curl", what: "curl (reads the agents' metrics)" }]),
    ...(parts.includes("throughput") || parts.includes("bgp")
      ? [
          { program: "iperf3", what: "iperf3 (scripts/setup.sh installs it)" },
          { program: "ss", what: "iproute2's ss" },
        ]
      : []),
    ...when("bgp", [
      { file: BIRD_BINARY, missing: `The bgp part needs ${BIRD_BINARY} (Debian package bird2)` },
    ]),
    ...when("leases", [
      { file: ETCD_BINARY, missing: `The lease benchmark needs ${ETCD_BINARY} (Debian package etcd-server)` },
    ]),
  ];
}

async function main(argv: readonly string[]): Promise<number> {
  const args = runnerArgs(argv, USAGE, {
    values: [
      "parts",
      "agents",
      "lease-rounds",
      "nodes",
      "backends",
      "start-batch",
      "throughput-rounds",
      "iperf-seconds",
      "iperf-omit",
      "cni-mode",
      "bgp-nodes",
      "bgp-rounds",
      "podnet",
    ],
    booleans: ["build"],
  });
  if (args === undefined) return 0;
  const parts = listFlag(args, "parts", PARTS, PARTS);
  // bgp is its own part (--parts bgp): it needs a router running BIRD and two segments.
  const backends = listFlag<Exclude<Backend, "bgp">>(args, "backends", BENCH_BACKENDS, ["host-gw", "vxlan"]);
  const options = {
    parts,
    agents: intFlag(args, "agents", 100, 1, 250),
    leaseRounds: intFlag(args, "lease-rounds", 3, 1, 20),
    nodes: intFlag(args, "nodes", 50, 2, 240),
    backends,
    startBatch: intFlag(args, "start-batch", 10, 1, 240),
    throughputRounds: intFlag(args, "throughput-rounds", 3, 1, 20),
    iperfSeconds: intFlag(args, "iperf-seconds", 5, 1, 60),
    iperfOmit: intFlag(args, "iperf-omit", 1, 0, 10),
    cniMode: cniModeFlag(args),
    // Two segments of /24 with hosts from .11: at most 2 × 244.
    bgpNodes: intFlag(args, "bgp-nodes", 10, 3, 200),
    bgpRounds: intFlag(args, "bgp-rounds", 3, 1, 20),
    agentLeaseTtlSeconds: LEASE_TTL_SECONDS,
    agentResyncSeconds: RESYNC_SECONDS,
  };
  const jsonFile = flag(args, "json");
  preflight("cluster benchmark", needsOf(parts));
  const podnet = podnetUnderTest(args);
  const exe = podnet.binary;
  if (parts.includes("convergence") && options.nodes * 100 * 2 ** 20 > totalmem())
    progress(
      `warning: ${options.nodes} agents may need ${options.nodes * 100} MiB; this machine has ${Math.round(totalmem() / 2 ** 20)} MiB`,
    );

  const bench = startRun();
  const { fail } = bench;

  const sandbox = new BenchSandbox("pbc");
  try {
    progress(`namespaces ${sandbox.prefix}*, files in ${sandbox.dir}`);
    let leases: RawResults["leases"];
    if (parts.includes("leases")) {
      const etcd = await startEtcdCluster({ members: 3, dataRoot: `${sandbox.dir}/etcd` });
      sandbox.onClose("etcd", () => etcd.close());
      progress(`3-member etcd on ${etcd.endpoints.join(", ")}`);
      let rounds: LeaseRound[] = [];
      try {
        rounds = await measureBlockLeases(
          etcd.spec,
          { agents: options.agents, rounds: options.leaseRounds, ttlSeconds: 60, clusterCidr: CLUSTER_CIDR },
          fail,
          progress,
        );
      } catch (e) {
        fail(`block leases: ${(e as Error).message}`);
      } finally {
        // Its members would otherwise take CPU from the agents measured next.
        await etcd.close();
      }
      leases = { agents: options.agents, etcdMembers: 3, rounds };
    }

    const convergence: ConvergenceRun[] = [];
    if (parts.includes("convergence")) {
      for (const backend of backends) {
        const tag = BACKEND_TAGS[backend];
        try {
          const r = await measureConvergence(
            sandbox,
            exe,
            tag,
            {
              nodes: options.nodes,
              backend,
              clusterCidr: CLUSTER_CIDR,
              segmentCidr: CONVERGENCE_SEGMENT,
              startBatch: options.startBatch,
              readyTimeoutMs: 60_000,
              convergeTimeoutMs: 20_000,
              leaseTtlSeconds: LEASE_TTL_SECONDS,
              resyncSeconds: RESYNC_SECONDS,
              idleMs: 3000,
            },
            progress,
          );
          convergence.push(r);
          if (r.convergenceMs === null) fail(`${backend} convergence: no route on ${r.missing.join(", ")}`);
          progress(`${tag}: converged in ${r.convergenceMs?.toFixed(0) ?? "n/a"} ms`);
        } catch (e) {
          fail(`${backend} convergence: ${(e as Error).message}`);
        }
      }
    }

    let throughput: ThroughputRun | undefined;
    if (parts.includes("throughput")) {
      try {
        throughput = await measurePodThroughput(
          sandbox,
          exe,
          {
            rounds: options.throughputRounds,
            seconds: options.iperfSeconds,
            omitSeconds: options.iperfOmit,
            segmentCidr: THROUGHPUT_SEGMENT,
            cniMode: options.cniMode,
            readyTimeoutMs: 30_000,
            leaseTtlSeconds: LEASE_TTL_SECONDS,
            resyncSeconds: RESYNC_SECONDS,
          },
          fail,
          progress,
        );
      } catch (e) {
        fail(`pod throughput: ${(e as Error).message}`);
      }
    }

    const bgp = parts.includes("bgp")
      ? await measureBgpPart(
          sandbox,
          exe,
          {
            nodes: options.bgpNodes,
            rounds: options.bgpRounds,
            startBatch: options.startBatch,
            throughputRounds: options.throughputRounds,
            iperfSeconds: options.iperfSeconds,
            iperfOmit: options.iperfOmit,
            cniMode: options.cniMode,
            clusterCidr: CLUSTER_CIDR,
            leaseTtlSeconds: LEASE_TTL_SECONDS,
            resyncSeconds: RESYNC_SECONDS,
          },
          fail,
          progress,
        )
      : undefined;

    const report = buildReport({
      ...bench.header(),
      podnet: podnet.build(),
      options,
      requested: {
        parts,
        leaseAgents: options.agents,
        leaseRounds: options.leaseRounds,
        nodes: options.nodes,
        backends,
        bgpNodes: options.bgpNodes,
      },
      ...(leases ? { leases } : {}),
      convergence,
      ...(throughput ? { throughput } : {}),
      ...(bgp ? { bgp } : {}),
      failures: bench.failures,
    });
    return publishReport(renderTable(report), report, jsonFile);
  } finally {
    await sandbox.close();
  }
}

await runBench("bench:cluster", USAGE, main);

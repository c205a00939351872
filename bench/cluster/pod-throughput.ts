/**
 * Pod-to-pod TCP throughput across nodes with iperf3, next to the raw underlay. Four node
 * namespaces on one switch: hg1/hg2 run host-gw agents on one datastore, vx1/vx2 vxlan agents on
 * another (each pair its own cluster), and every node gets one pod attached by the real plugin
 * through CniRuntime with the conflist its agent wrote. Paths measured, in this order every round:
 * - raw: hg1 → hg2 between the node namespaces' underlay addresses, no podnet in the path;
 * - host-gw: pod on hg1 → pod on hg2 (bridge, routed by the node, direct route via the peer);
 * - vxlan: pod on vx1 → pod on vx2 (bridge, routed into podnet-vx, encapsulated on the underlay).
 * Alternating spreads machine noise over all three alike; ratios are podnet / raw.
 */
import { mkdirSync } from "node:fs";
import { ROUTE_PROTO } from "../../src/agent/route-diff.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { buildUnderlay } from "../../src/lab/underlay.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";
import { BenchAgent, waitPeerRoutes } from "./bench-agent.ts";
import { attachBenchPod } from "./bench-pod.ts";
import { hostIP, segmentTopology } from "./bench-topology.ts";
import type { PathEnds, PathSample, PathsRun } from "./iperf-rounds.ts";
import { measurePaths } from "./iperf-rounds.ts";

export type PathKey = "raw" | "host-gw" | "vxlan";
export const PATHS: readonly PathKey[] = ["raw", "host-gw", "vxlan"];

export interface ThroughputOptions {
  readonly rounds: number;
  /** iperf3 -t: measured seconds per sample, after `omitSeconds` of unmeasured TCP ramp-up. */
  readonly seconds: number;
  readonly omitSeconds: number;
  readonly segmentCidr: string;
  readonly readyTimeoutMs: number;
  readonly leaseTtlSeconds: number;
  readonly resyncSeconds: number;
  readonly cniMode: "bridge" | "ptp";
}

export type IperfSample = PathSample<PathKey>;
export type ThroughputRun = PathsRun<PathKey>;

const CLUSTERS: Readonly<Record<"host-gw" | "vxlan", { nodes: [string, string]; cidr: string }>> = {
  "host-gw": { nodes: ["hg1", "hg2"], cidr: "10.244.0.0/16" },
  vxlan: { nodes: ["vx1", "vx2"], cidr: "10.245.0.0/16" },
};

export async function measurePodThroughput(
  sandbox: BenchSandbox,
  exe: string,
  options: ThroughputOptions,
  fail: (message: string) => void,
  progress: (message: string) => void,
): Promise<ThroughputRun> {
  const tag = "tp";
  const names = [...CLUSTERS["host-gw"].nodes, ...CLUSTERS.vxlan.nodes];
  const topology = segmentTopology(options.segmentCidr, names);
  const netnsOf = (local: string) => sandbox.netnsName(`${tag}-${local}`);
  const dir = `${sandbox.dir}/${tag}`;
  const binDir = `${dir}/bin`;
  mkdirSync(dir, { recursive: true });
  buildUnderlay(
    topology,
    {
      switchNetns: (s) => netnsOf(`sw-${s}`),
      routerNetns: netnsOf("router"),
      hostNetns: netnsOf,
    },
    topology.nodes,
  );
  mustRunSync([exe, "install-cni", "--bin-dir", binDir]);
  const { leaseTtlSeconds, resyncSeconds, cniMode } = options;
  const shared = { leaseTtlSeconds, resyncSeconds, cniMode };
  const agents: BenchAgent[] = [];
  const servers: Child[] = [];
  try {
    for (const [backend, cluster] of Object.entries(CLUSTERS) as [Backend, (typeof CLUSTERS)["vxlan"]][]) {
      const spec = {
        ...shared,
        datastore: `sqlite:${dir}/${backend}.db`,
        backend,
        clusterCidr: cluster.cidr,
      };
      for (const node of cluster.nodes)
        agents.push(BenchAgent.startNode(sandbox, exe, node, netnsOf, dir, spec));
    }
    await Promise.all(agents.map((a) => a.waitReady(options.readyTimeoutMs)));
    // Each node must route to its one peer before a pod can reach the other side.
    await waitPeerRoutes(
      names.map((node) => ({ node, netns: netnsOf(node), proto: ROUTE_PROTO })),
      options.readyTimeoutMs,
    );
    const podIP: Record<string, string> = {};
    for (const agent of agents) podIP[agent.spec.node] = await attachBenchPod(sandbox, agent, binDir, tag);
    progress(
      `throughput: 4 agents ready, pods ${names.map((n) => `${n}=${podIP[n]}`).join(" ")}; iperf3 -t ${options.seconds} -O ${options.omitSeconds}`,
    );

    const nodeIP = (node: string) =>
      hostIP(topology.nodes.find((n) => n.name === node) as (typeof topology.nodes)[number]);
    const ends: Record<PathKey, PathEnds> = {
      raw: { client: netnsOf("hg1"), server: netnsOf("hg2"), address: nodeIP("hg2") },
      "host-gw": { client: netnsOf("hg1-pod"), server: netnsOf("hg2-pod"), address: podIP.hg2 as string },
      vxlan: { client: netnsOf("vx1-pod"), server: netnsOf("vx2-pod"), address: podIP.vx2 as string },
    };
    return await measurePaths(
      sandbox,
      PATHS,
      ends,
      servers,
      { ...options, dir, label: "throughput", pathNote: "" },
      fail,
      progress,
    );
  } finally {
    await Promise.all([...servers, ...agents.map((a) => a.child)].map((c) => sandbox.stop(c)));
    const failures = sandbox.removeNamespaces(`${tag}-`);
    if (failures.length > 0) progress(`throughput: could not remove ${failures.join("; ")}`);
  }
}

/**
 * Pod-to-pod TCP throughput across the router, with iperf3: six nodes on two segments, bg1, vx1
 * and st1 on lan1, bg2, vx2 and st2 on lan2. bg1/bg2 run bgp agents peering with the router's
 * BIRD (as the lab's), vx1/vx2 vxlan agents, st1/st2 host-gw agents (each pair its own
 * datastore); one pod per node, attached by the real plugin. Paths, in turns every round:
 * - raw: bg1 → bg2 between the nodes' own underlay addresses, routed by the router: the same
 *   two nodes and the same router hop as bgp, without pods (the anchor, as raw is for host-gw);
 * - static: pod on st1 → pod on st2, routed by hand: the router has a static route to each
 *   block via its node, the nodes reach the other segment by their default route (host-gw
 *   installs nothing across the router). The same packet path as bgp with routes nobody
 *   announced: bgp / static is what BGP itself costs the data path;
 * - bgp: pod on bg1 → pod on bg2: routed by the nodes and the router on the routes BIRD learned,
 *   no encapsulation, pod MTU = uplink MTU;
 * - vxlan: pod on vx1 → pod on vx2: encapsulated between the node addresses across the router.
 */
import { mkdirSync } from "node:fs";
import { ROUTE_PROTO } from "../../src/agent/route-diff.ts";
import { buildUnderlay } from "../../src/lab/underlay.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";
import { BenchAgent, waitPeerRoutes } from "./bench-agent.ts";
import { attachBenchPod } from "./bench-pod.ts";
import { hostIP } from "./bench-topology.ts";
import { BIRD_PROTO } from "./bgp-convergence.ts";
import { startBenchRouter, writeBenchBgpConfig } from "./bgp-router.ts";
import { twoSegmentTopology } from "./bgp-topology.ts";
import type { PathEnds, PathSample, PathsRun } from "./iperf-rounds.ts";
import { measurePaths } from "./iperf-rounds.ts";

export type BgpPathKey = "raw" | "static" | "bgp" | "vxlan";
export const BGP_PATHS: readonly BgpPathKey[] = ["raw", "static", "bgp", "vxlan"];

export interface BgpThroughputOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly omitSeconds: number;
  readonly segmentCidrs: readonly [string, string];
  readonly readyTimeoutMs: number;
  readonly leaseTtlSeconds: number;
  readonly resyncSeconds: number;
  readonly cniMode: "bridge" | "ptp";
}

export type BgpIperfSample = PathSample<BgpPathKey>;
export type BgpThroughputRun = PathsRun<BgpPathKey>;

const CLUSTERS = {
  bgp: { nodes: ["bg1", "bg2"], cidr: "10.244.0.0/16", proto: BIRD_PROTO },
  vxlan: { nodes: ["vx1", "vx2"], cidr: "10.245.0.0/16", proto: ROUTE_PROTO },
  "host-gw": { nodes: ["st1", "st2"], cidr: "10.246.0.0/16", proto: undefined },
} as const;

export async function measureBgpThroughput(
  sandbox: BenchSandbox,
  exe: string,
  options: BgpThroughputOptions,
  fail: (message: string) => void,
  progress: (message: string) => void,
): Promise<BgpThroughputRun> {
  const tag = "bt";
  // In turns lan1, lan2: bg1 lan1, bg2 lan2, vx1 lan1, vx2 lan2, st1 lan1, st2 lan2.
  const names = [...CLUSTERS.bgp.nodes, ...CLUSTERS.vxlan.nodes, ...CLUSTERS["host-gw"].nodes];
  const topology = twoSegmentTopology(options.segmentCidrs, names);
  const netnsOf = (local: string) => sandbox.netnsName(`${tag}-${local}`);
  const dir = `${sandbox.dir}/${tag}`;
  const binDir = `${dir}/bin`;
  mkdirSync(dir, { recursive: true });
  buildUnderlay(
    topology,
    { switchNetns: (s) => netnsOf(`sw-${s}`), routerNetns: netnsOf("router"), hostNetns: netnsOf },
    topology.nodes,
  );
  mustRunSync([exe, "install-cni", "--bin-dir", binDir]);
  const bgpStore = `sqlite:${dir}/bgp.db`;
  // The router peers with the bgp nodes only: its BgpConfig names the router on both segments, and the vxlan nodes run no BIRD.
  const bgpTopology = { ...topology, nodes: topology.nodes.filter((n) => n.name.startsWith("bg")) };
  const bgp = await writeBenchBgpConfig(bgpStore, bgpTopology);
  const router = await startBenchRouter(sandbox, netnsOf("router"), dir, bgpTopology, bgp, [
    CLUSTERS.bgp.cidr,
  ]);
  const { leaseTtlSeconds, resyncSeconds, cniMode } = options;
  const shared = { leaseTtlSeconds, resyncSeconds, cniMode };
  const agents: BenchAgent[] = [];
  const servers: Child[] = [];
  try {
    for (const [backend, cluster] of [
      ["bgp", CLUSTERS.bgp],
      ["vxlan", CLUSTERS.vxlan],
      ["host-gw", CLUSTERS["host-gw"]],
    ] as const) {
      const datastore = backend === "bgp" ? bgpStore : `sqlite:${dir}/${backend}.db`;
      const spec = { ...shared, datastore, backend, clusterCidr: cluster.cidr };
      for (const node of cluster.nodes)
        agents.push(BenchAgent.startNode(sandbox, exe, node, netnsOf, dir, spec));
    }
    await Promise.all(agents.map((a) => a.waitReady(options.readyTimeoutMs)));
    // Each node must route to its peer's block (bgp: the route BIRD installed) before a pod can reach it.
    const nodeIP = (node: string) =>
      hostIP(topology.nodes.find((n) => n.name === node) as (typeof topology.nodes)[number]);
    for (const agent of agents.filter((a) => a.spec.backend === "host-gw")) {
      for (const block of agent.blocks())
        mustRunSync(
          inNetns(netnsOf("router"), [
            "ip",
            "route",
            "add",
            block,
            "via",
            nodeIP(agent.spec.node),
            "proto",
            "static",
          ]),
        );
    }
    await waitPeerRoutes(
      [CLUSTERS.bgp, CLUSTERS.vxlan].flatMap((c) =>
        c.nodes.map((node) => ({ node, netns: netnsOf(node), proto: c.proto })),
      ),
      options.readyTimeoutMs,
    );
    const podIP: Record<string, string> = {};
    for (const agent of agents) podIP[agent.spec.node] = await attachBenchPod(sandbox, agent, binDir, tag);
    progress(
      `bgp throughput: ${agents.length} agents ready, pods ${names.map((n) => `${n}=${podIP[n]}`).join(" ")}; iperf3 -t ${options.seconds} -O ${options.omitSeconds}`,
    );

    const ends: Record<BgpPathKey, PathEnds> = {
      raw: { client: netnsOf("bg1"), server: netnsOf("bg2"), address: nodeIP("bg2") },
      static: { client: netnsOf("st1-pod"), server: netnsOf("st2-pod"), address: podIP.st2 as string },
      bgp: { client: netnsOf("bg1-pod"), server: netnsOf("bg2-pod"), address: podIP.bg2 as string },
      vxlan: { client: netnsOf("vx1-pod"), server: netnsOf("vx2-pod"), address: podIP.vx2 as string },
    };
    return await measurePaths(
      sandbox,
      BGP_PATHS,
      ends,
      servers,
      { ...options, dir, label: "bgp throughput", pathNote: " (across the router)" },
      fail,
      progress,
    );
  } finally {
    await Promise.all([...servers, ...agents.map((a) => a.child)].map((c) => sandbox.stop(c)));
    await router.close();
    const failures = sandbox.removeNamespaces(`${tag}-`);
    if (failures.length > 0) progress(`bgp throughput: could not remove ${failures.join("; ")}`);
  }
}

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
import { pollUntil } from "../../src/base/poll-until.ts";
import { buildUnderlay } from "../../src/lab/underlay.ts";
import { mustRunSync, run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";
import { BenchAgent } from "./bench-agent.ts";
import { attachBenchPod } from "./bench-pod.ts";
import { hostIP } from "./bench-topology.ts";
import { BIRD_PROTO } from "./bgp-convergence.ts";
import { startBenchRouter, writeBenchBgpConfig } from "./bgp-router.ts";
import { twoSegmentTopology } from "./bgp-topology.ts";
import type { IperfResult } from "./iperf-result.ts";
import type { PathInfo } from "./pod-throughput.ts";
import { iperf, mtuOf, waitListening } from "./pod-throughput.ts";

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

export interface BgpIperfSample {
  readonly path: BgpPathKey;
  readonly round: number;
  readonly result: IperfResult;
}

export interface BgpThroughputRun {
  readonly paths: Readonly<Record<BgpPathKey, PathInfo>>;
  readonly samples: readonly BgpIperfSample[];
}

const PORT = "5201";
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
  const agents: BenchAgent[] = [];
  const servers: Child[] = [];
  try {
    for (const [backend, cluster] of [
      ["bgp", CLUSTERS.bgp],
      ["vxlan", CLUSTERS.vxlan],
      ["host-gw", CLUSTERS["host-gw"]],
    ] as const) {
      for (const node of cluster.nodes) {
        agents.push(
          BenchAgent.start(sandbox, exe, {
            node,
            netns: netnsOf(node),
            datastore: backend === "bgp" ? bgpStore : `sqlite:${dir}/${backend}.db`,
            backend,
            clusterCidr: cluster.cidr,
            dir: `${dir}/${node}`,
            leaseTtlSeconds: options.leaseTtlSeconds,
            resyncSeconds: options.resyncSeconds,
            cniMode: options.cniMode,
          }),
        );
      }
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
    const routesFrom = Date.now();
    for (const cluster of [CLUSTERS.bgp, CLUSTERS.vxlan]) {
      for (const node of cluster.nodes) {
        await pollUntil(
          `${node} to route to its peer's block (proto ${cluster.proto})`,
          async () =>
            (
              await run(inNetns(netnsOf(node), ["ip", "-4", "route", "show", "proto", cluster.proto]))
            ).stdout.trim() !== "",
          Math.max(0, options.readyTimeoutMs - (Date.now() - routesFrom)),
        );
      }
    }
    const podIP: Record<string, string> = {};
    for (const agent of agents) podIP[agent.spec.node] = await attachBenchPod(sandbox, agent, binDir, tag);
    progress(
      `bgp throughput: ${agents.length} agents ready, pods ${names.map((n) => `${n}=${podIP[n]}`).join(" ")}; iperf3 -t ${options.seconds} -O ${options.omitSeconds}`,
    );

    const ends: Record<BgpPathKey, { client: string; server: string; address: string }> = {
      raw: { client: netnsOf("bg1"), server: netnsOf("bg2"), address: nodeIP("bg2") },
      static: { client: netnsOf("st1-pod"), server: netnsOf("st2-pod"), address: podIP.st2 as string },
      bgp: { client: netnsOf("bg1-pod"), server: netnsOf("bg2-pod"), address: podIP.bg2 as string },
      vxlan: { client: netnsOf("vx1-pod"), server: netnsOf("vx2-pod"), address: podIP.vx2 as string },
    };
    const paths = {} as Record<BgpPathKey, PathInfo>;
    for (const path of BGP_PATHS) {
      const e = ends[path];
      servers.push(
        sandbox.spawn(
          `iperf3 server ${path}`,
          inNetns(e.server, ["iperf3", "-s", "-B", e.address, "-p", PORT]),
          {
            log: `${dir}/iperf3-server-${path}.log`,
          },
        ),
      );
      await waitListening(e.server, 5000);
      paths[path] = { from: e.client, to: e.address, mtu: await mtuOf(e.client, "eth0") };
      // One unmeasured second per path: proves the path works and resolves its neighbours.
      await iperf(e.client, e.address, 1, 0).catch((err: Error) => {
        throw new Error(`${path}: ${e.client} cannot reach ${e.address}: ${err.message}`);
      });
    }

    const samples: BgpIperfSample[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const path of BGP_PATHS) {
        const e = ends[path];
        try {
          const result = await iperf(e.client, e.address, options.seconds, options.omitSeconds);
          samples.push({ path, round, result });
          progress(
            `bgp throughput round ${round + 1}/${options.rounds} ${path}: ${(result.receivedBps / 1e9).toFixed(2)} Gbit/s (${result.retransmits} retransmits)`,
          );
        } catch (err) {
          fail(`iperf3 ${path} (across the router) round ${round + 1}: ${(err as Error).message}`);
        }
      }
    }
    return { paths, samples };
  } finally {
    await Promise.all([...servers, ...agents.map((a) => a.child)].map((c) => sandbox.stop(c)));
    await router.close();
    const failures = sandbox.removeNamespaces(`${tag}-`);
    if (failures.length > 0) progress(`bgp throughput: could not remove ${failures.join("; ")}`);
  }
}

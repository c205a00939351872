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
import { pollUntil } from "../../src/base/poll-until.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { buildUnderlay } from "../../src/lab/underlay.ts";
import { mustRunSync, run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";
import { BenchAgent } from "./bench-agent.ts";
import { attachBenchPod } from "./bench-pod.ts";
import { hostIP, segmentTopology } from "./bench-topology.ts";
import type { IperfResult } from "./iperf-result.ts";
import { parseIperfJson } from "./iperf-result.ts";

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

export interface PathInfo {
  readonly from: string;
  readonly to: string;
  /** MTU of the sender's interface (eth0 of the node or of the pod). */
  readonly mtu: number;
}

export interface IperfSample {
  readonly path: PathKey;
  readonly round: number;
  readonly result: IperfResult;
}

export interface ThroughputRun {
  readonly paths: Readonly<Record<PathKey, PathInfo>>;
  readonly samples: readonly IperfSample[];
}

const PORT = "5201";
const CLUSTERS: Readonly<Record<"host-gw" | "vxlan", { nodes: [string, string]; cidr: string }>> = {
  "host-gw": { nodes: ["hg1", "hg2"], cidr: "10.244.0.0/16" },
  vxlan: { nodes: ["vx1", "vx2"], cidr: "10.245.0.0/16" },
};

export async function mtuOf(netns: string, dev: string): Promise<number> {
  const r = await run(inNetns(netns, ["ip", "-json", "link", "show", "dev", dev]));
  const [link] = JSON.parse(r.stdout || "[]") as { mtu?: number }[];
  return link?.mtu ?? 0;
}

export async function waitListening(netns: string, timeoutMs: number): Promise<void> {
  await pollUntil(
    `the iperf3 server in ${netns} to listen on ${PORT}`,
    async () => (await run(inNetns(netns, ["ss", "-Hltn", "sport", "=", `:${PORT}`]))).stdout.trim() !== "",
    timeoutMs,
  );
}

/** One iperf3 client run, bounded: the client gives up 20 s after the test should have ended. */
export async function iperf(
  clientNetns: string,
  address: string,
  seconds: number,
  omit: number,
): Promise<IperfResult> {
  const argv = ["iperf3", "-c", address, "-p", PORT, "-t", String(seconds), "-O", String(omit), "-J"];
  const r = await run(inNetns(clientNetns, argv), { timeoutMs: (seconds + omit + 20) * 1000 });
  try {
    return parseIperfJson(r.stdout);
  } catch (e) {
    throw new Error(
      `${(e as Error).message}${r.code !== 0 ? ` (exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ""})` : ""}`,
    );
  }
}

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
  const agents: BenchAgent[] = [];
  const servers: Child[] = [];
  try {
    for (const [backend, cluster] of Object.entries(CLUSTERS) as [Backend, (typeof CLUSTERS)["vxlan"]][]) {
      for (const node of cluster.nodes) {
        agents.push(
          BenchAgent.start(sandbox, exe, {
            node,
            netns: netnsOf(node),
            datastore: `sqlite:${dir}/${backend}.db`,
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
    // Each node must route to its one peer before a pod can reach the other side.
    const routesFrom = Date.now();
    for (const node of names) {
      await pollUntil(
        `${node} to route to its peer's block`,
        async () =>
          (
            await run(inNetns(netnsOf(node), ["ip", "-4", "route", "show", "proto", ROUTE_PROTO]))
          ).stdout.trim() !== "",
        Math.max(0, options.readyTimeoutMs - (Date.now() - routesFrom)),
      );
    }
    const podIP: Record<string, string> = {};
    for (const agent of agents) podIP[agent.spec.node] = await attachBenchPod(sandbox, agent, binDir, tag);
    progress(
      `throughput: 4 agents ready, pods ${names.map((n) => `${n}=${podIP[n]}`).join(" ")}; iperf3 -t ${options.seconds} -O ${options.omitSeconds}`,
    );

    const nodeIP = (node: string) =>
      hostIP(topology.nodes.find((n) => n.name === node) as (typeof topology.nodes)[number]);
    const ends: Record<PathKey, { client: string; server: string; address: string; dev: string }> = {
      raw: { client: netnsOf("hg1"), server: netnsOf("hg2"), address: nodeIP("hg2"), dev: "eth0" },
      "host-gw": {
        client: netnsOf("hg1-pod"),
        server: netnsOf("hg2-pod"),
        address: podIP.hg2 as string,
        dev: "eth0",
      },
      vxlan: {
        client: netnsOf("vx1-pod"),
        server: netnsOf("vx2-pod"),
        address: podIP.vx2 as string,
        dev: "eth0",
      },
    };
    const paths = {} as Record<PathKey, PathInfo>;
    for (const path of PATHS) {
      const e = ends[path];
      const server = sandbox.spawn(
        `iperf3 server ${path}`,
        inNetns(e.server, ["iperf3", "-s", "-B", e.address, "-p", PORT]),
        {
          log: `${dir}/iperf3-server-${path}.log`,
        },
      );
      servers.push(server);
      await waitListening(e.server, 5000);
      paths[path] = { from: e.client, to: e.address, mtu: await mtuOf(e.client, e.dev) };
      // One unmeasured second per path: proves the path works and resolves its neighbours.
      await iperf(e.client, e.address, 1, 0).catch((err: Error) => {
        throw new Error(`${path}: ${e.client} cannot reach ${e.address}: ${err.message}`);
      });
    }

    const samples: IperfSample[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const path of PATHS) {
        const e = ends[path];
        try {
          const result = await iperf(e.client, e.address, options.seconds, options.omitSeconds);
          samples.push({ path, round, result });
          progress(
            `throughput round ${round + 1}/${options.rounds} ${path}: ${(result.receivedBps / 1e9).toFixed(2)} Gbit/s (${result.retransmits} retransmits)`,
          );
        } catch (err) {
          fail(`iperf3 ${path} round ${round + 1}: ${(err as Error).message}`);
        }
      }
    }
    return { paths, samples };
  } finally {
    await Promise.all([...servers, ...agents.map((a) => a.child)].map((c) => sandbox.stop(c)));
    const failures = sandbox.removeNamespaces(`${tag}-`);
    if (failures.length > 0) progress(`throughput: could not remove ${failures.join("; ")}`);
  }
}

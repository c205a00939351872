/**
 * iperf3 between the ends of measured paths (I/O), shared by the throughput parts: a server per
 * path, one unmeasured second per path that proves it works, then measured rounds that take the
 * paths in turns (alternating spreads machine noise over all of them alike).
 */
import { pollUntil } from "../../src/base/poll-until.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";
import type { IperfResult } from "./iperf-result.ts";
import { parseIperfJson } from "./iperf-result.ts";

const PORT = "5201";

export interface PathInfo {
  readonly from: string;
  readonly to: string;
  /** MTU of the sender's interface (eth0 of the node or of the pod). */
  readonly mtu: number;
}

/** Where a path's client and server run (namespaces) and the address the server listens on. */
export interface PathEnds {
  readonly client: string;
  readonly server: string;
  readonly address: string;
}

export interface PathSample<K extends string> {
  readonly path: K;
  readonly round: number;
  readonly result: IperfResult;
}

export interface PathsRun<K extends string> {
  readonly paths: Readonly<Record<K, PathInfo>>;
  readonly samples: readonly PathSample<K>[];
}

export interface IperfRoundsOptions {
  readonly rounds: number;
  /** iperf3 -t: measured seconds per sample, after `omitSeconds` of unmeasured TCP ramp-up. */
  readonly seconds: number;
  readonly omitSeconds: number;
  /** Directory for the servers' logs. */
  readonly dir: string;
  /** Leads every progress line ("throughput", "bgp throughput"). */
  readonly label: string;
  /** Follows the path's name in a failure ("" or " (across the router)"). */
  readonly pathNote: string;
}

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

/**
 * Starts an iperf3 server at the end of every path (pushed onto `servers`, which the caller
 * stops, also after a failure), proves each path with one unmeasured second, then measures
 * `rounds` rounds of every path in order. A measured run that fails is reported to `fail` and
 * leaves no sample; a path that does not work at all throws.
 */
export async function measurePaths<K extends string>(
  sandbox: BenchSandbox,
  order: readonly K[],
  ends: Readonly<Record<K, PathEnds>>,
  servers: Child[],
  options: IperfRoundsOptions,
  fail: (message: string) => void,
  progress: (message: string) => void,
): Promise<PathsRun<K>> {
  const paths = {} as Record<K, PathInfo>;
  for (const path of order) {
    const e = ends[path];
    servers.push(
      sandbox.spawn(
        `iperf3 server ${path}`,
        inNetns(e.server, ["iperf3", "-s", "-B", e.address, "-p", PORT]),
        {
          log: `${options.dir}/iperf3-server-${path}.log`,
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

  const samples: PathSample<K>[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const path of order) {
      const e = ends[path];
      try {
        const result = await iperf(e.client, e.address, options.seconds, options.omitSeconds);
        samples.push({ path, round, result });
        progress(
          `${options.label} round ${round + 1}/${options.rounds} ${path}: ${(result.receivedBps / 1e9).toFixed(2)} Gbit/s (${result.retransmits} retransmits)`,
        );
      } catch (err) {
        fail(`iperf3 ${path}${options.pathNote} round ${round + 1}: ${(err as Error).message}`);
      }
    }
  }
  return { paths, samples };
}

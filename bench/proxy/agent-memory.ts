/**
 * The service proxy's memory inside a running agent fed from the datastore: the real `podnet
 * agent` runs twice in the run, each in a node namespace of its own with a SQLite datastore of its
 * own — (a) with the proxy on, (b) with the proxy off, both without node-local DNS. Once an agent is
 * ready, the same Services and their endpoints' pod records are written into its datastore (see
 * agent-datastore.ts). (a) is measured once its table holds the last Service (the last ClusterIP
 * is in the `cluster-ips` set and the proxy's gauges count every Service and endpoint), plus
 * `settleMs` (what the agent still frees or allocates then is counted too); (b) the same time after its first write. The proxy's share is (a) − (b), of the
 * resident size (VmRSS) and of the peak (VmHWM).
 */
import { copyFileSync } from "node:fs";
import { errorText } from "../../src/base/error-text.ts";
import { pollUntil } from "../../src/base/poll-until.ts";
import { run, runSync } from "../../src/linux/exec.ts";
import { inNetns, netnsPath } from "../../src/linux/netns.ts";
import { liveProxyTableName } from "../../src/linux/nft-facts.ts";
import { isTableGone, onLiveTable } from "../../src/linux/on-live-table.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { BenchAgent } from "../cluster/bench-agent.ts";
import { type ProcessMemory, processMemory } from "../dns/proc-status.ts";
import {
  createAgentNode,
  type ServiceWithEndpoints,
  writeServiceRecords,
} from "../support/agent-datastore.ts";
import type { BenchSandbox } from "../support/sandbox.ts";

const READY_TIMEOUT_MS = 60_000;
const TABLE_TIMEOUT_MS = 300_000;

export interface AgentRun {
  /** After it got ready, before the first write. */
  readonly empty: ProcessMemory;
  /** When measured: resident now and the peak of its life. */
  readonly loaded: ProcessMemory;
}

export type AgentMemoryResult =
  | {
      readonly measured: true;
      readonly services: number;
      readonly endpoints: number;
      readonly withProxy: AgentRun;
      readonly withoutProxy: AgentRun;
      /** (a): from the first write until its table holds the last Service. */
      readonly tableMs: number;
      /** Both were measured this long after their first write. */
      readonly measuredAfterMs: number;
    }
  | { readonly measured: false; readonly reason: string };

function hasProxyFlag(podnet: string): string | undefined {
  const help = runSync([podnet, "agent", "--help"]);
  const text = `${help.stdout}${help.stderr}`;
  if (text === "") return `${podnet} could not be run (exit ${help.code})`;
  if (!text.includes("--proxy")) return `${podnet} agent has no --proxy flag`;
  return undefined;
}

/** True once `netns`'s live table has `clusterIP` and the proxy's gauges count everything written. */
async function tableHolds(netns: string, clusterIP: string, services: number, endpoints: number) {
  // The live table (with base chains) under either of its names: any full sync during the run
  // (a refused partial, a relist) builds the next one under the other name and swaps.
  const element = await onLiveTable(
    () => liveProxyTableName("ip", { netnsPath: netnsPath(netns) }),
    async (table) =>
      table === undefined
        ? undefined
        : run(inNetns(netns, ["nft", "get", "element", "ip", table, "cluster-ips", `{ ${clusterIP} }`]), {
            timeoutMs: 30_000,
          }),
    (r) => r !== undefined && r.code !== 0 && isTableGone(r.stderr),
  );
  if (element === undefined || element.code !== 0) return false;
  const metrics = await run(
    inNetns(netns, ["curl", "-s", "--max-time", "3", "http://127.0.0.1:9464/metrics"]),
    { timeoutMs: 5000 },
  );
  if (metrics.code !== 0) return false;
  return (
    (metricValue(metrics.stdout, "podnet_proxy_services") ?? 0) >= services &&
    (metricValue(metrics.stdout, "podnet_proxy_endpoints") ?? 0) >= endpoints
  );
}

interface Phase {
  readonly run: AgentRun;
  readonly tableMs: number;
}

/**
 * One agent from start to measurement: `afterTableMs` once the table holds the last Service (the
 * proxy on), or `afterWriteMs` after the first write.
 */
async function measureAgent(
  sandbox: BenchSandbox,
  podnet: string,
  proxy: boolean,
  entries: readonly ServiceWithEndpoints[],
  wait: { readonly afterTableMs: number } | { readonly afterWriteMs: number },
  progress: (message: string) => void,
): Promise<Phase> {
  const local = proxy ? "mem-on" : "mem-off";
  const netns = createAgentNode(sandbox, local);
  const datastore = `${sandbox.dir}/${local}.db`;
  // The cluster benchmark's agent (the lab's command line) with its proxy on or off, no DNS.
  const agent = BenchAgent.startAlone(
    sandbox,
    podnet,
    { netns, datastorePath: datastore, dir: `${sandbox.dir}/${local}` },
    { dnsAddress: "none", extraArgs: ["--proxy", proxy ? "on" : "off"] },
  );
  const memory = () => processMemory(agent.pid, `the agent of node-a (proxy ${proxy ? "on" : "off"})`);
  try {
    await agent.waitReady(READY_TIMEOUT_MS);
    const empty = memory();
    const started = performance.now();
    await writeServiceRecords(datastore, entries);
    let tableMs = 0;
    if (proxy) {
      const last = entries[entries.length - 1];
      const clusterIP = last?.service.clusterIPs[0] ?? "";
      const endpoints = entries.reduce((n, e) => n + e.endpoints.length, 0);
      await pollUntil(
        `the agent's table to hold the last Service (${clusterIP})`,
        async () => {
          if (!agent.running) throw new Error(`the agent exited: ${agent.logTail()}`);
          return tableHolds(netns, clusterIP, entries.length, endpoints);
        },
        TABLE_TIMEOUT_MS,
        { intervalMs: 250, detail: () => agent.logTail() },
      );
      tableMs = performance.now() - started;
      progress(
        `agent with the proxy: table holds all ${entries.length} Services after ${Math.round(tableMs)} ms`,
      );
    }
    const until = started + ("afterWriteMs" in wait ? wait.afterWriteMs : tableMs + wait.afterTableMs);
    await Bun.sleep(Math.max(0, until - performance.now()));
    if (!agent.running) throw new Error(`the agent exited: ${agent.logTail()}`);
    const loaded = memory();
    progress(
      `agent, proxy ${proxy ? "on" : "off"}: ${loaded.rssMiB.toFixed(1)} MiB RSS, ${loaded.hwmMiB.toFixed(1)} MiB peak`,
    );
    return { run: { empty, loaded }, tableMs };
  } finally {
    await sandbox.stop(agent.child);
    sandbox.removeNamespaces(local);
  }
}

export async function measureAgentMemory(
  sandbox: BenchSandbox,
  podnet: string,
  entries: readonly ServiceWithEndpoints[],
  settleMs: number,
  progress: (message: string) => void,
): Promise<AgentMemoryResult> {
  const missing = hasProxyFlag(podnet);
  if (missing !== undefined) return { measured: false, reason: missing };
  if (entries.length === 0) return { measured: false, reason: "no Services" };
  try {
    // Both agents run the very same build, even when dist/ is rebuilt during the run.
    const exe = `${sandbox.dir}/podnet`;
    copyFileSync(podnet, exe);
    const on = await measureAgent(sandbox, exe, true, entries, { afterTableMs: settleMs }, progress);
    const measuredAfterMs = on.tableMs + settleMs;
    const off = await measureAgent(sandbox, exe, false, entries, { afterWriteMs: measuredAfterMs }, progress);
    return {
      measured: true,
      services: entries.length,
      endpoints: entries.reduce((n, e) => n + e.endpoints.length, 0),
      withProxy: on.run,
      withoutProxy: off.run,
      tableMs: on.tableMs,
      measuredAfterMs,
    };
  } catch (e) {
    return { measured: false, reason: `the agent could not be measured: ${errorText(e)}` };
  }
}

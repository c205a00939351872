/**
 * One real node agent (`podnet agent`, the compiled binary) running inside a node namespace, as
 * the lab starts them: its own CNI config and state directories, JSON logs to a file, metrics on
 * the namespace's own loopback. `ip netns exec` execs the agent, so the child's pid is the
 * agent's and /proc/PID/status is its memory.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { CONFLIST_NAME } from "../../src/agent/cni-config-writer.ts";
import { pollUntil } from "../../src/base/poll-until.ts";
import type { Backend } from "../../src/cluster/node-record.ts";
import { agentCommandLine } from "../../src/lab/agent-command-line.ts";
import type { Conflist } from "../../src/lab/cni-runtime.ts";
import { run } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { LogEntry } from "../../testkit/agent-log.ts";
import { parseAgentLog } from "../../testkit/agent-log.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";

export const BENCH_NETWORK = "podnet-bench";
const METRICS_ADDR = "127.0.0.1:9464";

export interface AgentSpec {
  readonly node: string;
  readonly netns: string;
  readonly datastore: string;
  readonly backend: Backend;
  readonly clusterCidr: string;
  /** Directory for this agent's CNI config, state and log. */
  readonly dir: string;
  readonly leaseTtlSeconds: number;
  readonly resyncSeconds: number;
  /** How the plugin attaches pods on this node (the conflist's mode). */
  readonly cniMode: "bridge" | "ptp";
  /** The node-local DNS address (`none`: no DNS); the agent's default when absent. */
  readonly dnsAddress?: string;
  /** Further flags (e.g. `--proxy off`). */
  readonly extraArgs?: readonly string[];
}

/** What the agents of one cluster share: all of AgentSpec but each node's own namespace and directory. */
export type ClusterSpec = Omit<AgentSpec, "node" | "netns" | "dir">;

export interface AgentMemory {
  /** VmRSS: resident now. */
  readonly rssKiB: number;
  /** VmHWM: the most it was resident since it started. */
  readonly peakRssKiB: number;
}

export class AgentStartError extends Error {
  override readonly name = "AgentStartError";
}

function statusField(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  return m ? Number(m[1]) : undefined;
}

export class BenchAgent {
  readonly confDir: string;
  readonly stateDir: string;
  readonly logPath: string;

  private constructor(
    readonly spec: AgentSpec,
    readonly child: Child,
    /** Date.now() just before the spawn: the origin of every start figure. */
    readonly spawnedAtMs: number,
    paths: { confDir: string; stateDir: string; logPath: string },
  ) {
    this.confDir = paths.confDir;
    this.stateDir = paths.stateDir;
    this.logPath = paths.logPath;
  }

  /** Starts `node`'s agent in the namespace `netnsOf(node)`, its files under PART_DIR/NODE. */
  static startNode(
    sandbox: BenchSandbox,
    exe: string,
    node: string,
    netnsOf: (node: string) => string,
    partDir: string,
    cluster: ClusterSpec,
  ): BenchAgent {
    return BenchAgent.start(sandbox, exe, {
      ...cluster,
      node,
      netns: netnsOf(node),
      dir: `${partDir}/${node}`,
    });
  }

  /**
   * One agent alone as the memory benchmarks run it: node-a, host-gw, SQLite at `datastorePath`,
   * bridge mode, its files under `dir`; `options` adds the DNS address and further flags.
   */
  static startAlone(
    sandbox: BenchSandbox,
    exe: string,
    where: { readonly netns: string; readonly datastorePath: string; readonly dir: string },
    options: Pick<AgentSpec, "dnsAddress" | "extraArgs"> = {},
  ): BenchAgent {
    return BenchAgent.start(sandbox, exe, {
      node: "node-a",
      netns: where.netns,
      datastore: `sqlite:${where.datastorePath}`,
      backend: "host-gw",
      clusterCidr: "10.240.0.0/12",
      dir: where.dir,
      leaseTtlSeconds: 30,
      resyncSeconds: 30,
      cniMode: "bridge",
      ...options,
    });
  }

  static start(sandbox: BenchSandbox, exe: string, spec: AgentSpec): BenchAgent {
    const confDir = `${spec.dir}/net.d`;
    const stateDir = `${spec.dir}/state`;
    const logPath = `${spec.dir}/agent.log`;
    mkdirSync(confDir, { recursive: true });
    const argv = inNetns(
      spec.netns,
      agentCommandLine({
        exe,
        nodeName: spec.node,
        datastore: spec.datastore,
        backend: spec.backend,
        uplink: "eth0",
        clusterCidrs: [spec.clusterCidr],
        cniConfDir: confDir,
        cniMode: spec.cniMode,
        network: BENCH_NETWORK,
        stateDir,
        leaseTtlSeconds: spec.leaseTtlSeconds,
        resyncSeconds: spec.resyncSeconds,
        metricsAddr: METRICS_ADDR,
        ...(spec.dnsAddress === undefined ? {} : { dnsAddress: spec.dnsAddress }),
        ...(spec.extraArgs === undefined ? {} : { extraArgs: spec.extraArgs }),
      }),
    );
    const spawnedAtMs = Date.now();
    const child = sandbox.spawn(`agent ${spec.node}`, argv, { log: logPath });
    return new BenchAgent(spec, child, spawnedAtMs, { confDir, stateDir, logPath });
  }

  get pid(): number {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.proc.exitCode === null && this.child.proc.signalCode === null;
  }

  isReady(): boolean {
    return existsSync(`${this.stateDir}/ready`);
  }

  logTail(lines = 5): string {
    try {
      return readFileSync(this.logPath, "utf8").trim().split("\n").slice(-lines).join(" | ") || "(empty log)";
    } catch {
      return "(no log)";
    }
  }

  /** Resolves once the agent has written its readiness marker (its first route sync is done). */
  async waitReady(timeoutMs: number): Promise<void> {
    await pollUntil(
      `the agent of ${this.spec.node} to get ready`,
      () => {
        if (this.isReady()) return true;
        if (!this.running)
          throw new AgentStartError(
            `The agent of ${this.spec.node} exited before it was ready: ${this.logTail()}`,
          );
        return false;
      },
      timeoutMs,
      { detail: () => this.logTail(), intervalMs: 20 },
    );
  }

  /** The blocks the agent leased, from the state it keeps for its next start. */
  blocks(): string[] {
    const raw = JSON.parse(readFileSync(`${this.stateDir}/agent.json`, "utf8")) as { blocks?: unknown };
    return Array.isArray(raw.blocks) ? raw.blocks.filter((b): b is string => typeof b === "string") : [];
  }

  conflist(): Conflist {
    return JSON.parse(readFileSync(`${this.confDir}/${CONFLIST_NAME}`, "utf8")) as Conflist;
  }

  memory(): AgentMemory | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
      const rssKiB = statusField(status, "VmRSS");
      const peakRssKiB = statusField(status, "VmHWM");
      return rssKiB === undefined || peakRssKiB === undefined ? undefined : { rssKiB, peakRssKiB };
    } catch {
      return undefined;
    }
  }

  /**
   * CPU time in clock ticks (/proc/PID/stat utime + stime + cutime + cstime): the agent's own and
   * that of the programs it ran and waited for (ip, bridge). Undefined once it has exited.
   */
  cpuTicks(): number | undefined {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, "utf8");
      // Fields after the command name (which may contain spaces) start at field 3 (state).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
    } catch {
      return undefined;
    }
  }

  logEntries(): LogEntry[] {
    try {
      return parseAgentLog(readFileSync(this.logPath, "utf8"));
    } catch {
      return [];
    }
  }

  /** The agent's Prometheus text, fetched from inside its namespace; undefined when unreachable. */
  async metrics(): Promise<string | undefined> {
    const r = await run(
      inNetns(this.spec.netns, ["curl", "-s", "--max-time", "3", `http://${METRICS_ADDR}/metrics`]),
      { timeoutMs: 5000 },
    );
    return r.code === 0 ? r.stdout : undefined;
  }
}

/**
 * Starts an agent for each node, `batch` at a time, and waits until each batch is ready before
 * the next; every agent is pushed onto `agents` as it starts (the caller stops them, also after a
 * failure). Returns the seconds it took.
 */
export async function startInBatches(
  nodes: readonly string[],
  batch: number,
  start: (node: string) => BenchAgent,
  agents: BenchAgent[],
  readyTimeoutMs: number,
): Promise<number> {
  const from = performance.now();
  for (let i = 0; i < nodes.length; i += batch) {
    const started = nodes.slice(i, i + batch).map(start);
    agents.push(...started);
    await Promise.all(started.map((a) => a.waitReady(readyTimeoutMs)));
  }
  return (performance.now() - from) / 1000;
}

/**
 * Waits until each node's namespace has an IPv4 route of the given protocol (its agent routed a
 * peer's block), all within one deadline of `timeoutMs`.
 */
export async function waitPeerRoutes(
  nodes: readonly { readonly node: string; readonly netns: string; readonly proto: string }[],
  timeoutMs: number,
): Promise<void> {
  const from = Date.now();
  for (const { node, netns, proto } of nodes) {
    await pollUntil(
      `${node} to route to its peer's block (proto ${proto})`,
      async () =>
        (await run(inNetns(netns, ["ip", "-4", "route", "show", "proto", proto]))).stdout.trim() !== "",
      Math.max(0, timeoutMs - (Date.now() - from)),
    );
  }
}

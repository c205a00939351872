/**
 * One real `podnet agent` in a node namespace with its service proxy on or off and no node-local
 * DNS, started with the lab's command line (agentCommandLine) as the cluster benchmark's
 * BenchAgent starts it, plus those two flags, which BenchAgent does not pass. `ip netns exec`
 * execs the agent, so the child's pid is the agent's and /proc/PID/status is its memory.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { pollUntil } from "../../src/base/poll-until.ts";
import { agentCommandLine } from "../../src/lab/agent-command-line.ts";
import { inNetns } from "../../src/linux/netns.ts";
import { BENCH_NETWORK } from "../cluster/bench-agent.ts";
import { type ProcessMemory, processMemory } from "../dns/proc-status.ts";
import type { BenchSandbox, Child } from "../support/sandbox.ts";

export interface ProxyAgentSpec {
  readonly node: string;
  readonly netns: string;
  /** Path of the SQLite datastore file. */
  readonly datastore: string;
  /** Directory for this agent's CNI config, state and log. */
  readonly dir: string;
  readonly proxy: boolean;
}

export class ProxyAgent {
  private constructor(
    readonly spec: ProxyAgentSpec,
    readonly child: Child,
    private readonly stateDir: string,
    private readonly logPath: string,
  ) {}

  static start(sandbox: BenchSandbox, exe: string, spec: ProxyAgentSpec): ProxyAgent {
    const confDir = `${spec.dir}/net.d`;
    const stateDir = `${spec.dir}/state`;
    const logPath = `${spec.dir}/agent.log`;
    mkdirSync(confDir, { recursive: true });
    const argv = inNetns(
      spec.netns,
      agentCommandLine({
        exe,
        nodeName: spec.node,
        datastore: `sqlite:${spec.datastore}`,
        backend: "host-gw",
        uplink: "eth0",
        clusterCidrs: ["10.240.0.0/12"],
        cniConfDir: confDir,
        cniMode: "bridge",
        network: BENCH_NETWORK,
        stateDir,
        leaseTtlSeconds: 30,
        resyncSeconds: 30,
        metricsAddr: "127.0.0.1:9464",
        dnsAddress: "none",
        extraArgs: ["--proxy", spec.proxy ? "on" : "off"],
      }),
    );
    const label = `agent ${spec.node} (proxy ${spec.proxy ? "on" : "off"})`;
    return new ProxyAgent(spec, sandbox.spawn(label, argv, { log: logPath }), stateDir, logPath);
  }

  get running(): boolean {
    return this.child.proc.exitCode === null && this.child.proc.signalCode === null;
  }

  logTail(lines = 5): string {
    try {
      return readFileSync(this.logPath, "utf8").trim().split("\n").slice(-lines).join(" | ") || "(empty log)";
    } catch {
      return "(no log)";
    }
  }

  /** Resolves once the agent has written its readiness marker; throws when it exits first. */
  async waitReady(timeoutMs: number): Promise<void> {
    await pollUntil(
      `the agent of ${this.spec.node} to get ready`,
      () => {
        if (existsSync(`${this.stateDir}/ready`)) return true;
        if (!this.running) throw new Error(`the agent exited before it was ready: ${this.logTail()}`);
        return false;
      },
      timeoutMs,
      { detail: () => this.logTail(), intervalMs: 20 },
    );
  }

  /** VmRSS and VmHWM now; throws when the agent is gone. */
  memory(): ProcessMemory {
    return processMemory(this.child.pid, `the agent of ${this.spec.node}`);
  }
}

/**
 * A router's BIRD for the BGP agent tests: the cluster's BgpConfig written, BIRD started in the
 * test cluster's router namespace from a config the test renders, its log kept for failure
 * messages, and a teardown that stops every agent still running and the router, and proves no BIRD
 * was left in the root namespace.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pollUntil } from "../../../src/base/poll-until.ts";
import type { BgpConfig } from "../../../src/cluster/bgp-config.ts";
import { writeBgpConfig } from "../../../src/cluster/bgp-config-store.ts";
import { type BirdHandle, birdsInRootNetns, startBird } from "../../../src/linux/bird-process.ts";
import { mustRunSync } from "../../../src/linux/exec.ts";
import { logTail } from "./agent-log.ts";
import type { AgentProcess } from "./cluster-agent.ts";
import type { TestCluster } from "./test-cluster.ts";

export const BIRD = "/usr/sbin/bird";

/** Routes BIRD installed in a namespace's kernel for one block (empty when none). */
export function birdRoutes(netns: string, block: string): string {
  return mustRunSync(["ip", "-n", netns, "route", "show", block, "proto", "bird"]).stdout.trim();
}

/** Pids of `bird` processes whose command line names a path under `dir`. */
export function birdsUsing(dir: string): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return (
          readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "bird" &&
          readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** What a leftover process is, for the failure message. */
function describePid(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").slice(0, 8).join(" ");
    return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")} | ${status}`;
  } catch {
    return `${pid}: gone`;
  }
}

export class RouterBird {
  private readonly log: string[] = [];
  private handle: BirdHandle | undefined;
  /** Kept for tearDown, which may run after the cluster's own teardown. */
  private cluster: TestCluster | undefined;
  netns = "";

  /** @param agents the test's agents, by node: their log tails go into `detail`, tearDown stops them. */
  constructor(private readonly agents: ReadonlyMap<string, AgentProcess>) {}

  /**
   * Writes the cluster's peering, then starts the router's BIRD from `config` (files
   * NAME-bird.conf, NAME.ctl, NAME.pid in the cluster's directory).
   */
  async start(c: TestCluster, peering: BgpConfig, name: string, config: string): Promise<void> {
    this.cluster = c;
    this.netns = `${c.prefix}-router`;
    const store = await c.openStore();
    try {
      await writeBgpConfig(store, peering);
    } finally {
      await store.close();
    }
    const configPath = join(c.dir, `${name}-bird.conf`);
    writeFileSync(configPath, config, { mode: 0o600 });
    this.handle = await startBird({
      netns: this.netns,
      configPath,
      ctlPath: join(c.dir, `${name}.ctl`),
      pidPath: join(c.dir, `${name}.pid`),
      log: (level, line) => this.log.push(`${level} ${line}`),
    });
  }

  /** Routes BIRD installed in the router's kernel for one block. */
  routes(block: string): string {
    return birdRoutes(this.netns, block);
  }

  /** For a failed wait: the agents' log tails, the router's log and its routes. */
  readonly detail = (): string =>
    [
      ...[...this.agents.values()].map((a) => `--- ${a.node.name}\n${logTail(a)}`),
      `--- router\n${this.log.slice(-20).join("\n")}`,
      `--- router routes\n${mustRunSync(["ip", "-n", this.netns, "route"]).stdout}`,
    ].join("\n");

  /**
   * Stops the agents still running and the router's BIRD, then waits until no BIRD is left in the
   * root namespace (a BIRD that is exiting has no namespace left to read for a moment) and runs
   * `check` on the cluster, also when a stop failed.
   */
  async tearDown(check?: (c: TestCluster) => void): Promise<void> {
    const c = this.cluster;
    try {
      for (const a of this.agents.values()) if (c && a.child.exitCode === null) await c.stopAgent(a);
      await this.handle?.stop(5000);
    } finally {
      await pollUntil("no BIRD in the root namespace", () => birdsInRootNetns().length === 0, 5000, {
        detail: () => birdsInRootNetns().map(describePid).join("\n"),
      });
      if (c) check?.(c);
    }
  }
}

/**
 * Executes one plugin of a conflist the way a runtime does (config on stdin with cniVersion, name
 * and prevResult inserted, CNI_* variables, in the node's namespace) and, unlike CniRuntime, can
 * SIGKILL it after a delay: what a runtime's deadline, an OOM kill or a node agent restart does
 * to a plugin in the middle of an operation.
 */
import { readdirSync, readlinkSync } from "node:fs";
import type { Subprocess } from "bun";
import type { AttachmentSpec, Conflist, JsonObject } from "../../../src/lab/cni-runtime.ts";
import { inNetns } from "../../../src/linux/netns.ts";

export interface KillableRun {
  /** The exit code; undefined when a signal ended the process. */
  readonly code: number | undefined;
  /** True when our SIGKILL ended it (it had not exited by itself before the delay ran out). */
  readonly killed: boolean;
  /** True when it was still running after the hang limit and had to be killed for that. */
  readonly hung: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** From spawn to exit, in milliseconds. */
  readonly ms: number;
}

export interface KillableOptions {
  readonly prevResult?: unknown;
  /** SIGKILL the process this many milliseconds after it was started (0: at once). */
  readonly killAfterMs?: number;
  /** Called with the process once it is started (to watch it, or kill it on a condition). */
  readonly started?: (proc: Subprocess) => void;
}

export interface KillablePluginOptions {
  readonly conflist: Conflist;
  /** The executable of the conflist's first plugin. */
  readonly pluginPath: string;
  readonly nodeNetns: string;
  readonly cniPath: readonly string[];
  /** Longer than any operation may take: the process is killed and reported as hung. */
  readonly hangLimitMs?: number;
}

/** The first plugin of a conflist, executable with a kill at a chosen moment. */
export class KillablePlugin {
  constructor(private readonly options: KillablePluginOptions) {}

  private config(prevResult: unknown): JsonObject {
    const [plugin] = this.options.conflist.plugins;
    if (!plugin) throw new Error(`conflist "${this.options.conflist.name}" has no plugin`);
    return {
      ...plugin,
      cniVersion: this.options.conflist.cniVersion,
      name: this.options.conflist.name,
      ...(prevResult === undefined ? {} : { prevResult }),
    };
  }

  private env(command: string, a: AttachmentSpec): Record<string, string> {
    const args = Object.entries(a.args ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(";");
    return {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: command,
      CNI_PATH: this.options.cniPath.join(":"),
      CNI_CONTAINERID: a.containerId,
      CNI_IFNAME: a.ifname,
      CNI_NETNS: a.netnsPath,
      ...(args ? { CNI_ARGS: args } : {}),
    };
  }

  async run(command: "ADD" | "DEL", a: AttachmentSpec, options: KillableOptions = {}): Promise<KillableRun> {
    const started = performance.now();
    // `ip netns exec` execs the plugin in place (no fork), so the pid is the plugin's once it runs.
    const proc = Bun.spawn(inNetns(this.options.nodeNetns, [this.options.pluginPath]), {
      stdin: Buffer.from(JSON.stringify(this.config(options.prevResult))),
      stdout: "pipe",
      stderr: "pipe",
      env: this.env(command, a),
    });
    let killed = false;
    let hung = false;
    const kill =
      options.killAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            killed = proc.exitCode === null && proc.signalCode === null;
            proc.kill("SIGKILL");
          }, options.killAfterMs);
    const hang = setTimeout(() => {
      hung = proc.exitCode === null && proc.signalCode === null;
      proc.kill("SIGKILL");
    }, this.options.hangLimitMs ?? 30_000);
    options.started?.(proc);
    const [stdout, stderr] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    await proc.exited;
    const ms = performance.now() - started;
    clearTimeout(kill);
    clearTimeout(hang);
    return {
      code: proc.exitCode ?? undefined,
      killed: killed && !hung && proc.signalCode === "SIGKILL",
      hung,
      stdout,
      stderr,
      ms,
    };
  }
}

/** True when process `pid` has the file `path` open (read from /proc; false once it is gone). */
export function hasFileOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

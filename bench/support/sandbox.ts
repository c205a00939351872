/**
 * Everything a benchmark creates on the machine: one temporary directory, network namespaces
 * named `<tag><random>-...`, and the processes it starts (plugins' pods, agents, iperf3, route
 * monitors, servers). close() stops the processes by pid (SIGTERM, then SIGKILL), runs the
 * registered closers (etcd, stores) and removes every namespace with the run's prefix;
 * disposeNow() does the synchronous part of that from Ctrl-C, SIGTERM or an exit with work still
 * running. Nothing here touches the root network namespace.
 */
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { createNetns, deleteNetns, listNetns, randomSuffix } from "../../src/linux/netns.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";
import { stopProcess } from "../../testkit/stop-process.ts";

export interface Child {
  readonly pid: number;
  readonly label: string;
  readonly proc: Subprocess;
}

export interface SpawnOptions {
  /** Append stdout and stderr to this file (otherwise stdout is a pipe and stderr is ignored). */
  readonly log?: string;
}

export class BenchSandbox {
  readonly id = randomSuffix(5);
  /** Two runs (or a crashed one) never collide: every namespace name starts with this. */
  readonly prefix: string;
  readonly dir: string;
  private readonly children = new Map<number, Child>();
  private readonly closers: { label: string; close: () => Promise<void> }[] = [];
  private disposed = false;
  private readonly forgetExitHook: () => void;

  /** `tag` names the benchmark in its namespaces (`pb` for the CNI one, `pbc` for the others). */
  constructor(tag: string) {
    this.prefix = `${tag}${this.id}-`;
    this.dir = mkdtempSync(`${tmpdir()}/podnet-bench-`);
    this.forgetExitHook = disposeOnExit(
      () => this.disposeNow(),
      "stopping the benchmark's processes, removing its namespaces and files",
    );
  }

  netnsName(local: string): string {
    return `${this.prefix}${local}`;
  }

  /** Creates the namespace `${prefix}${local}`; returns its name and path. */
  createNetns(local: string): { name: string; path: string } {
    const name = this.netnsName(local);
    return { name, path: createNetns(name) };
  }

  /** Starts a process and tracks it until it exits or is stopped. */
  spawn(label: string, argv: readonly string[], options: SpawnOptions = {}): Child {
    if (this.disposed) throw new Error(`Cannot start ${label}: the benchmark is shutting down`);
    const fd = options.log ? openSync(options.log, "a") : undefined;
    try {
      const proc = Bun.spawn([...argv], {
        stdin: "ignore",
        stdout: fd ?? "pipe",
        stderr: fd ?? "ignore",
      });
      const child: Child = { pid: proc.pid, label, proc };
      this.children.set(proc.pid, child);
      void proc.exited.then(() => this.children.delete(proc.pid));
      return child;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(child: Child, graceMs = 5000): Promise<void> {
    await stopProcess(child.proc, "SIGTERM", graceMs);
  }

  /** Registers something to close (an etcd cluster, store clients) on close(). */
  onClose(label: string, close: () => Promise<void>): void {
    this.closers.push({ label, close });
  }

  /** Removes the namespaces whose names start with `${prefix}${localPrefix}`, longest names first. */
  removeNamespaces(localPrefix = ""): string[] {
    const full = `${this.prefix}${localPrefix}`;
    const failures: string[] = [];
    // Pods (longer names) before their nodes, nodes before the switches they are plugged into.
    const mine = listNetns()
      .filter((n) => n.startsWith(full))
      .sort((a, b) => b.length - a.length);
    for (const name of mine) {
      try {
        deleteNetns(name);
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      }
    }
    return failures;
  }

  async close(): Promise<void> {
    if (this.disposed) return;
    await Promise.all([...this.children.values()].map((c) => this.stop(c)));
    for (const c of this.closers.reverse()) {
      try {
        await c.close();
      } catch (e) {
        process.stderr.write(`closing ${c.label} failed: ${(e as Error).message}\n`);
      }
    }
    this.closers.length = 0;
    this.disposeNow();
  }

  /** Synchronous on purpose: it must also work from a signal or exit handler. */
  disposeNow(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.forgetExitHook();
    for (const c of this.children.values()) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    this.children.clear();
    const failures = this.removeNamespaces();
    rmSync(this.dir, { recursive: true, force: true });
    if (failures.length > 0)
      process.stderr.write(`Could not remove ${failures.length} namespace(s): ${failures.join("; ")}\n`);
  }
}

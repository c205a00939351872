/**
 * Everything the benchmark creates on the machine: one temporary directory and network
 * namespaces with a random per-run prefix. Every namespace is tracked from the moment it exists
 * and removed by dispose(), which also runs on Ctrl-C, SIGTERM and an uncaught error, so a run
 * never leaves anything behind. Nothing here touches the root network namespace: interfaces,
 * addresses and sysctls are only ever made by the plugins inside the node namespaces.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createNetns, deleteNetns, randomSuffix } from "../../src/linux/netns.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const SIGNAL_NUMBER: Record<(typeof SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

export class Sandbox {
  readonly id = randomSuffix(5);
  readonly dir: string;
  private readonly namespaces = new Set<string>();
  private disposed = false;
  private readonly onSignal = (signal: (typeof SIGNALS)[number]) => {
    process.stderr.write(`\n${signal}: removing the benchmark's namespaces and files\n`);
    this.dispose();
    process.exit(128 + SIGNAL_NUMBER[signal]);
  };
  private readonly onExit = () => this.dispose();

  constructor() {
    this.dir = mkdtempSync(`${tmpdir()}/podnet-bench-`);
    for (const s of SIGNALS) process.on(s, this.onSignal);
    process.on("exit", this.onExit);
  }

  /** Namespace names are `pb<id>-<local>` so two runs (or a crashed one) never collide. */
  netnsName(local: string): string {
    return `pb${this.id}-${local}`;
  }

  createNetns(local: string): { name: string; path: string } {
    const name = this.netnsName(local);
    // Tracked before creation: if `ip netns add` succeeds and the next step fails, dispose still finds it.
    this.namespaces.add(name);
    return { name, path: createNetns(name) };
  }

  deleteNetns(name: string): void {
    deleteNetns(name);
    this.namespaces.delete(name);
  }

  /** Synchronous on purpose: it must also work from an exit handler. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const failures: string[] = [];
    for (const name of [...this.namespaces].reverse()) {
      try {
        deleteNetns(name);
        this.namespaces.delete(name);
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    for (const s of SIGNALS) process.off(s, this.onSignal);
    process.off("exit", this.onExit);
    if (failures.length > 0) {
      process.stderr.write(`Could not remove ${failures.length} namespace(s): ${failures.join("; ")}\n`);
    }
  }
}

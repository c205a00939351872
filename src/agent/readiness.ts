/**
 * The node's readiness marker: the plugin's STATUS (and so the runtime) counts on this node's
 * network only while the file exists. It carries the agent's pid, so STATUS tells a live
 * agent's marker from one left behind by a crashed agent.
 */
import { rmSync, writeFileSync } from "node:fs";
import type { Gauge } from "../daemon/metrics.ts";

export class Readiness {
  private ready = false;

  constructor(
    readonly file: string,
    private readonly nodeName: string,
    private readonly gauge: Gauge,
  ) {}

  get isReady(): boolean {
    return this.ready;
  }

  /** A marker left by an earlier run (killed, never stopped) must not claim readiness now. */
  clearStale(): void {
    rmSync(this.file, { force: true });
  }

  mark(): void {
    const marker = { node: this.nodeName, pid: process.pid, at: new Date().toISOString() };
    writeFileSync(this.file, JSON.stringify(marker));
    this.ready = true;
    this.gauge.set(1);
  }

  /** Not ready any more: the runtime must not count on this node's routes being maintained. */
  clear(): void {
    rmSync(this.file, { force: true });
    this.ready = false;
    this.gauge.set(0);
  }
}

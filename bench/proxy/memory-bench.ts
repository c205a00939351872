/**
 * Resident memory of the proxy's state at a given table size: proxy-memory-child.ts in a process
 * of its own (the benchmark's heap would otherwise be counted), started with the Bun running us.
 */
import { run } from "../../src/linux/exec.ts";

export interface MemoryResult {
  readonly services: number;
  readonly endpointsPerService: number;
  /** RSS of the child before it built anything: Bun itself and the loaded modules. */
  readonly startRssMiB: number;
  /** process.memoryUsage().rss once the state is built and garbage collected. */
  readonly rssMiB: number;
  /** The same from /proc/self/status, and the peak over the child's life. */
  readonly vmRssMiB: number;
  readonly vmHwmMiB: number;
  readonly heapUsedMiB: number;
  /** Size of the full-sync text it keeps. */
  readonly textMiB: number;
  /** Build, render, text, one incremental render and diff. */
  readonly workMs: number;
  /** Input the renderer could not render (0 expected). */
  readonly problems: number;
}

const CHILD = `${import.meta.dir}/proxy-memory-child.ts`;

export async function measureProxyMemory(
  services: number,
  endpointsPerService: number,
): Promise<MemoryResult> {
  const argv = [process.execPath, CHILD, String(services), String(endpointsPerService)];
  const r = await run(argv, { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`memory child exited with ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as MemoryResult;
}

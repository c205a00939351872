/**
 * Cleanup of integration runs: the teardown every harness ends with, and a sweep of what earlier
 * runs left behind when they were killed before their afterAll/afterEach (the exit and signal
 * hook for this process is testkit's disposeOnExit).
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deleteNetns, listNetns } from "../../../src/linux/netns.ts";
import { RunCgroup } from "./run-cgroup.ts";

/** Written into each test node's temp dir: the pid of the run that owns it. */
export const OWNER_FILE = "owner.pid";

let swept = false;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what earlier runs left when they died without cleaning up (SIGKILL, a crash): every
 * `pntest-<id>` whose temp dir names an owner process that no longer exists, and the cgroups
 * (with their processes) of runs whose temp dir is gone. Runs still alive (a parallel run) are
 * left alone. Runs once per process.
 */
export function sweepStaleRuns(): void {
  if (swept) return;
  swept = true;
  const namespaces = listNetns();
  for (const entry of readdirSync(tmpdir())) {
    const m = /^(pntest-[a-z0-9]{6})-/.exec(entry);
    if (!m) continue;
    const dir = join(tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), "utf8"));
    } catch {
      continue;
    }
    if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
    const prefix = `${m[1]}-`;
    for (const ns of namespaces.filter((n) => n.startsWith(prefix)).sort((a, b) => b.length - a.length)) {
      deleteNetns(ns);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  // The runtimes' pods (containerd shims, conmon, container processes) of runs that are gone.
  RunCgroup.sweepStale();
}

export interface TestRun {
  /** Name prefix of everything the run created (`pntest-<id>`). */
  readonly prefix: string;
  readonly dir: string;
  /** Namespaces in creation order (removed in reverse: pods before their node). */
  readonly namespaces: readonly string[];
  readonly children: Iterable<{ kill(signal?: NodeJS.Signals | number): void }>;
}

/**
 * Tears a test run down: kills its processes, removes its namespaces and temp dir, and checks no
 * namespace of it is left. Keeps going past failures and reports them all, so a failed cleanup
 * fails the test run instead of leaking silently (unless `quiet`, for last-resort exit hooks).
 */
export function teardownRun(run: TestRun, quiet = false): void {
  const problems: string[] = [];
  for (const child of run.children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
  for (const ns of [...run.namespaces].reverse()) {
    try {
      deleteNetns(ns);
    } catch (e) {
      problems.push(`namespace ${ns}: ${(e as Error).message}`);
    }
  }
  try {
    rmSync(run.dir, { recursive: true, force: true });
  } catch (e) {
    problems.push(`directory ${run.dir}: ${(e as Error).message}`);
  }
  const left = listNetns().filter((n) => n.startsWith(`${run.prefix}-`));
  if (left.length > 0) problems.push(`namespaces still present: ${left.join(" ")}`);
  if (problems.length > 0 && !quiet)
    throw new Error(`cleanup of ${run.prefix} failed: ${problems.join("; ")}`);
}

/**
 * Peak resident memory of one ADD. Measured with GNU time (`%M`, the child's ru_maxrss from wait4)
 * run inside the node namespace around the plugin itself. ru_maxrss of a process that waited for
 * its own children is the largest of them, not their sum: the figure is the biggest single process
 * of the invocation (the plugin, its IPAM delegate, or an `ip` it ran).
 *
 * Bun's own resourceUsage().maxRSS is not used: on Linux it reports the *parent's* peak for a
 * child spawned from a large process (calibrate() shows it next to GNU time for /bin/true).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { run, runSync } from "../../src/linux/exec.ts";
import { inNetns } from "../../src/linux/netns.ts";
import type { FailureSink, Progress, Subjects } from "./latency.ts";
import { roundOrder } from "./latency.ts";
import type { Subject, SubjectKey } from "./subjects.ts";

export const GNU_TIME = "/usr/bin/time";

export type GnuTimeStatus =
  | { readonly available: true; readonly path: string; readonly installed: boolean }
  | { readonly available: false; readonly reason: string };

function isGnuTime(path: string): boolean {
  if (!existsSync(path)) return false;
  const r = runSync([path, "--version"]);
  return `${r.stdout}${r.stderr}`.includes("GNU");
}

/** Finds GNU time; installs Debian's `time` package when it is missing and we are root. */
export function ensureGnuTime(progress: Progress): GnuTimeStatus {
  if (isGnuTime(GNU_TIME)) return { available: true, path: GNU_TIME, installed: false };
  if (process.getuid?.() !== 0)
    return {
      available: false,
      reason: `${GNU_TIME} (GNU time) is missing and we are not root to install it`,
    };
  if (!Bun.which("apt-get"))
    return { available: false, reason: `${GNU_TIME} (GNU time) is missing and there is no apt-get` };
  progress("GNU time is missing: apt-get install -y time");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  let r = runSync(["apt-get", "install", "-y", "time"], { env });
  if (r.code !== 0) {
    // A fresh container often has no package lists yet.
    runSync(["apt-get", "update"], { env });
    r = runSync(["apt-get", "install", "-y", "time"], { env });
  }
  if (r.code !== 0 || !isGnuTime(GNU_TIME)) {
    return {
      available: false,
      reason: `apt-get install -y time failed: ${r.stderr.trim().split("\n").slice(-1)[0] ?? ""}`,
    };
  }
  return { available: true, path: GNU_TIME, installed: true };
}

/** GNU time -o writes "Command exited with non-zero status N" before the figure on failure. */
export function parseTimeOutput(text: string): number | undefined {
  const last = text.trim().split("\n").pop()?.trim() ?? "";
  return /^\d+$/.test(last) ? Number(last) : undefined;
}

export interface Calibration {
  /** GNU time's %M for /bin/true, KiB: a trustworthy method reports about 1 MiB. */
  readonly gnuTimeTrueKiB: number | undefined;
  /** Bun.spawn resourceUsage().maxRSS for /bin/true, KiB. */
  readonly bunTrueKiB: number | undefined;
  /** This process's resident set when we spawned, KiB: what Bun's figure tracks instead. */
  readonly parentRssKiB: number;
}

export async function calibrate(timeFile: string, gnuTime: GnuTimeStatus): Promise<Calibration> {
  let gnuTimeTrueKiB: number | undefined;
  if (gnuTime.available) {
    const r = await run([gnuTime.path, "-f", "%M", "-o", timeFile, "/bin/true"]);
    gnuTimeTrueKiB = r.code === 0 ? parseTimeOutput(readFileSync(timeFile, "utf8")) : undefined;
  }
  const proc = Bun.spawn(["/bin/true"], { stdout: "ignore", stderr: "ignore" });
  await proc.exited;
  const bunBytes = proc.resourceUsage()?.maxRSS;
  return {
    gnuTimeTrueKiB,
    bunTrueKiB: bunBytes === undefined ? undefined : Math.round(bunBytes / 1024),
    parentRssKiB: Math.round(process.memoryUsage().rss / 1024),
  };
}

async function oneSample(
  subject: Subject,
  timePath: string,
  timeFile: string,
  fail: FailureSink,
): Promise<number | undefined> {
  const pod = subject.createPod("m");
  // A stale figure from the previous sample must not survive a run that never started.
  rmSync(timeFile, { force: true });
  try {
    const a = pod.attachment;
    const argv = inNetns(subject.nodeNetns, [timePath, "-f", "%M", "-o", timeFile, subject.pluginPath()]);
    // The environment CniRuntime gives a plugin (replaceEnv), so the process does the same work.
    const r = await run(argv, {
      stdin: JSON.stringify(subject.addConfig()),
      env: {
        PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
        CNI_COMMAND: "ADD",
        CNI_PATH: subject.spec.binDir,
        CNI_CONTAINERID: a.containerId,
        CNI_IFNAME: a.ifname,
        CNI_NETNS: a.netnsPath,
        CNI_ARGS: Object.entries(a.args ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(";"),
      },
      replaceEnv: true,
      timeoutMs: 30_000,
    });
    const kib = existsSync(timeFile) ? parseTimeOutput(readFileSync(timeFile, "utf8")) : undefined;
    if (r.code !== 0 || kib === undefined) {
      fail(
        `${subject.spec.label} ADD under GNU time failed (exit ${r.code}): ${(r.stdout + r.stderr).trim().slice(0, 300)}`,
      );
      return undefined;
    }
    let output: unknown;
    try {
      output = JSON.parse(r.stdout);
    } catch {
      fail(`${subject.spec.label} ADD under GNU time printed invalid JSON: ${r.stdout.slice(0, 200)}`);
    }
    const del = await subject.del(pod, output);
    if (!del.ok) fail(del.error);
    return kib;
  } finally {
    subject.deletePod(pod);
  }
}

/** Peak RSS of the floor program (floor.ts) answering VERSION, through the same launcher. */
async function floorSample(
  netns: string,
  floorExe: string,
  timePath: string,
  timeFile: string,
  fail: FailureSink,
): Promise<number | undefined> {
  rmSync(timeFile, { force: true });
  const r = await run(inNetns(netns, [timePath, "-f", "%M", "-o", timeFile, floorExe]), {
    env: { CNI_COMMAND: "VERSION" },
    timeoutMs: 30_000,
  });
  const kib = existsSync(timeFile) ? parseTimeOutput(readFileSync(timeFile, "utf8")) : undefined;
  if (r.code !== 0 || kib === undefined) fail(`the floor program under GNU time failed (exit ${r.code})`);
  return kib;
}

export interface MemorySamples {
  /** Peak RSS of one ADD per subject, KiB. */
  readonly kib: Record<SubjectKey, number[]>;
  /** Peak RSS of the floor program, KiB. */
  readonly floorKiB: number[];
}

/** `samples` ADDs per subject in turns, and as many runs of the floor program; peak RSS in KiB. */
export async function measureMemory(
  subjects: Subjects,
  floorExe: string,
  samples: number,
  timePath: string,
  timeFile: string,
  fail: FailureSink,
  progress: Progress,
): Promise<MemorySamples> {
  const kib: Record<SubjectKey, number[]> = { podnet: [], agent: [], reference: [] };
  const floorKiB: number[] = [];
  for (let i = 0; i < samples; i++) {
    for (const key of roundOrder(i)) {
      const v = await oneSample(subjects[key], timePath, timeFile, fail);
      if (v !== undefined) kib[key].push(v);
    }
    const f = await floorSample(subjects.podnet.nodeNetns, floorExe, timePath, timeFile, fail);
    if (f !== undefined) floorKiB.push(f);
  }
  progress(`memory: ${samples} ADDs each and ${samples} floor runs under GNU time`);
  return { kib, floorKiB };
}

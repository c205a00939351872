/**
 * The cgroup a test run's runtime (containerd, or podman's conmon) runs in, and that its pods'
 * cgroup_parent points below: the one handle on everything the runtime starts. Shims daemonize (their parent exits, so they are no
 * children of the test), but no process leaves its cgroup subtree by forking, so the test finds
 * containerd, every containerd-shim-runc-v2, runc and every container process by pid here, kills
 * them and removes the cgroups runc created — on a normal teardown, in the exit hook, or in the
 * next run's sweep when a run was killed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

interface Hierarchy {
  readonly path: string;
  readonly v2: boolean;
  readonly options: readonly string[];
}

/** Mounted cgroup hierarchies, from /proc/self/mountinfo (v1 controllers and the v2 tree). */
function hierarchies(): Hierarchy[] {
  const out: Hierarchy[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [before, after] = line.split(" - ");
    if (!before || !after) continue;
    const [fstype, , superOptions = ""] = after.split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const mountPoint = before.split(" ")[4];
    if (mountPoint)
      out.push({ path: mountPoint, v2: fstype === "cgroup2", options: superOptions.split(",") });
  }
  return out;
}

/** The hierarchy processes are tracked in: the v2 tree when it is the only one, else pids or memory (v1). */
function trackingHierarchy(all: readonly Hierarchy[]): Hierarchy {
  const pick =
    all.find((h) => h.v2 && h.path === "/sys/fs/cgroup") ??
    all.find((h) => !h.v2 && h.options.includes("pids")) ??
    all.find((h) => !h.v2 && h.options.includes("memory")) ??
    all[0];
  if (!pick) throw new Error("Cannot track containerd's processes: no cgroup hierarchy is mounted");
  return pick;
}

/** Directories of the subtree at `dir`, deepest first (the order rmdir needs). */
function subtree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [...children.flatMap((c) => subtree(`${dir}/${c.name}`)), dir];
}

function procsOf(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, "utf8")
      .split("\n")
      .filter((s) => /^\d+$/.test(s))
      .map(Number);
  } catch {
    return [];
  }
}

export class RunCgroup {
  private readonly all = hierarchies();
  private readonly tracking = trackingHierarchy(this.all);

  /** `name`: one path segment, the test run's prefix (pntest-<id>). */
  constructor(readonly name: string) {}

  /** The pods' LinuxPodSandboxConfig.cgroup_parent (cgroupfs syntax). */
  get podsParent(): string {
    return `/${this.name}/pods`;
  }

  private get daemonDir(): string {
    return `${this.tracking.path}/${this.name}/daemon`;
  }

  /** Puts `pid` (containerd, before it starts anything) into the tree; all it forks stays there. */
  adopt(pid: number): void {
    mkdirSync(this.daemonDir, { recursive: true });
    writeFileSync(`${this.daemonDir}/cgroup.procs`, String(pid));
  }

  /** Every process in the tree, in any hierarchy. */
  pids(): number[] {
    const pids = new Set<number>();
    for (const h of this.all)
      for (const dir of subtree(`${h.path}/${this.name}`)) for (const p of procsOf(dir)) pids.add(p);
    return [...pids].sort((a, b) => a - b);
  }

  /**
   * SIGKILLs every process of the tree until none is left, then removes the tree's cgroups in
   * every hierarchy. Synchronous, so the exit hook can run it; throws naming what survived.
   */
  destroy(timeoutMs = 10_000): void {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = this.pids();
      if (left.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(
          `Processes of cgroup ${this.name} survived SIGKILL for ${timeoutMs} ms: ${left.join(" ")}`,
        );
      for (const pid of left) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // exited between the read and the kill
        }
      }
      Bun.sleepSync(20);
    }
    const problems: string[] = [];
    for (const h of this.all)
      for (const dir of subtree(`${h.path}/${this.name}`)) {
        try {
          rmdirSync(dir);
        } catch (e) {
          problems.push(`${dir}: ${(e as Error).message}`);
        }
      }
    if (problems.length > 0)
      throw new Error(`Cannot remove the cgroups of ${this.name}: ${problems.join("; ")}`);
  }

  /** Whether any hierarchy still has the tree. */
  exists(): boolean {
    return this.all.some((h) => existsSync(`${h.path}/${this.name}`));
  }

  /**
   * Destroys the trees of runs that are gone: a `pntest-<id>` cgroup whose run has no temp dir
   * left (the TestRun sweep removed it, or it never got one). Runs alive keep theirs.
   */
  static sweepStale(): void {
    const liveRuns = new Set(
      readdirSync(tmpdir())
        .map((e) => /^(pntest-[a-z0-9]{6})-/.exec(e)?.[1])
        .filter((p): p is string => p !== undefined),
    );
    const stale = new Set<string>();
    for (const h of hierarchies()) {
      if (!existsSync(h.path)) continue;
      for (const e of readdirSync(h.path, { withFileTypes: true }))
        if (e.isDirectory() && /^pntest-[a-z0-9]{6}$/.test(e.name) && !liveRuns.has(e.name))
          stale.add(e.name);
    }
    for (const name of stale) new RunCgroup(name).destroy();
  }
}

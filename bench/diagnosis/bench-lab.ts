/**
 * The lab a diagnosis run measures: `podnet lab up` with PODNET_LAB_ROOT set to a temporary
 * directory of the run, so it never meets a lab someone else has up, and `podnet lab down` at the
 * end — also after a failure, on Ctrl-C / SIGTERM and on an exit with the lab still up (a
 * synchronous down registered with disposeOnExit). `lab up` writes its id directory before it
 * creates any namespace, so a down after an interrupted up still finds everything.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { LabState } from "../../src/lab/lab-state.ts";
import { runSync } from "../../src/linux/exec.ts";
import { disposeOnExit } from "../../testkit/dispose-on-exit.ts";

export class BenchLabError extends Error {
  override readonly name = "BenchLabError";
}

const UP_TIMEOUT_MS = 180_000;
const DOWN_TIMEOUT_MS = 120_000;

const tail = (text: string) => text.trim().split("\n").slice(-5).join("; ") || "(no output)";

/**
 * SIGKILL, then wait (synchronously, up to 3 s) until the kernel shows the process dead: gone, or a
 * zombie its parent — this process, busy here — has not reaped yet.
 */
function stopNow(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      return;
    }
    // The state follows the command name, which is in parentheses and may itself contain spaces.
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return;
    Bun.sleepSync(20);
  }
}

export class BenchLab {
  /** PODNET_LAB_ROOT of this run's lab: its state, its copy of podnet, its datastore. */
  readonly root: string;
  private down = false;
  /** A `lab up` still running: stopped before `lab down`, or it would go on building behind it. */
  private upPid: number | undefined;
  private readonly forgetExitHook: () => void;

  constructor(readonly exe: string) {
    this.root = mkdtempSync(`${tmpdir()}/podnet-bench-diagnosis-`);
    this.forgetExitHook = disposeOnExit(() => this.downNow(), "taking the benchmark's lab down");
  }

  private env(): Record<string, string> {
    return { PODNET_LAB_ROOT: this.root };
  }

  /** `podnet lab up` with the lab's defaults (3 nodes, 2 pods each, auto backend, SQLite); returns its state. */
  async up(): Promise<LabState> {
    if (this.down) throw new BenchLabError("Cannot bring the lab up: the benchmark is shutting down");
    const proc = Bun.spawn([this.exe, "lab", "up"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...this.env() },
      timeout: UP_TIMEOUT_MS,
    });
    this.upPid = proc.pid;
    const [stdout, stderr] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
    ]);
    const code = await proc.exited;
    this.upPid = undefined;
    if (code !== 0)
      throw new BenchLabError(`"${this.exe} lab up" exited with ${code}: ${tail(stderr || stdout)}`);
    const file = `${this.root}/state.json`;
    if (!existsSync(file)) throw new BenchLabError(`"lab up" succeeded but wrote no ${file}`);
    return JSON.parse(readFileSync(file, "utf8")) as LabState;
  }

  /**
   * `podnet lab down`, then the temporary directory. Synchronous on purpose: it also runs from a
   * signal or exit handler. Returns what went wrong (nothing when the lab is gone).
   */
  downNow(): string[] {
    if (this.down) return [];
    this.down = true;
    this.forgetExitHook();
    const problems: string[] = [];
    if (this.upPid !== undefined) stopNow(this.upPid);
    const r = runSync([this.exe, "lab", "down"], { env: this.env(), timeoutMs: DOWN_TIMEOUT_MS });
    if (r.code !== 0) problems.push(`"lab down" exited with ${r.code}: ${tail(r.stderr || r.stdout)}`);
    for (const line of r.stderr.split("\n"))
      if (line.startsWith("warning:")) problems.push(`lab down ${line}`);
    if (problems.length === 0) rmSync(this.root, { recursive: true, force: true });
    else problems.push(`kept ${this.root} (run "PODNET_LAB_ROOT=${this.root} podnet lab down" to retry)`);
    return problems;
  }
}

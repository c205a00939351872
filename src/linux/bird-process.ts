/**
 * A BIRD 2 routing daemon (Debian's bird2, /usr/sbin/bird) as a child of ours, in a named network
 * namespace: `ip netns exec NS bird -f -c CONF -s CTL -P PID`. `-f` keeps it in the foreground and
 * `ip netns exec` execs, so the child's pid is BIRD's and its exit is ours to see. BIRD binds its
 * netlink and BGP sockets in the namespace it starts in, so one must never start in the root
 * namespace (it would sync its tables with the host's kernel): startBird refuses it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { errorText } from "../base/error-text.ts";
import { pollUntil } from "../base/poll-until.ts";
import { BIRD_BINARY, BirdConfigError, checkBirdConfig, parseBirdLocation } from "./bird-check.ts";
import { BirdControlError, birdCommand, replyText } from "./bird-control.ts";
import { assertNotRootNetns, findProgram, validateBirdPath } from "./bird-host.ts";
import { validateNetnsName } from "./netns.ts";

export { BIRD_BINARY, BirdConfigError, checkBirdConfig } from "./bird-check.ts";
export { birdsInRootNetns } from "./bird-host.ts";

export type BirdLogLevel = "info" | "warn" | "error";
/** One line BIRD wrote to stderr (`log stderr all;`), classified by its `<CLASS>`. */
export type BirdLog = (level: BirdLogLevel, line: string) => void;

export interface BirdExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Whether stop() or gracefulRestart() asked for it. */
  readonly expected: boolean;
}

export interface StartBirdOptions {
  /**
   * The named namespace BIRD runs in; `null` when this process already runs inside the node's
   * namespace. Either way startBird refuses the root namespace.
   */
  readonly netns: string | null;
  /** Absolute paths; one control socket and pid file per BIRD. */
  readonly configPath: string;
  readonly ctlPath: string;
  readonly pidPath: string;
  /** `-R`: graceful-restart recovery (kernel routes kept from a `graceful restart` stop). */
  readonly recover?: boolean;
  /** Called once when BIRD exits, expected or not. */
  readonly onExit?: (exit: BirdExit) => void;
  readonly log?: BirdLog;
  readonly binary?: string;
  /** How long BIRD may take to answer on its control socket (default 10 s). */
  readonly startTimeoutMs?: number;
  /** The caller has just checked this very file (`bird -p`): not checked a second time. */
  readonly checked?: boolean;
}

export type BirdReloadResult = "reconfigured" | "in-progress" | "unchanged";

export interface BirdHandle {
  readonly pid: number;
  readonly ctlPath: string;
  readonly configPath: string;
  readonly running: boolean;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<BirdExit>;
  /**
   * Validates the config file (`bird -p -c`), then `configure`s BIRD with it. Throws
   * BirdConfigError (file:line and BIRD's message) when it is refused: the old config keeps running.
   */
  reload(): Promise<BirdReloadResult>;
  /** Runs a command on the control socket and returns its text as birdc prints it. */
  command(cmd: string, timeoutMs?: number): Promise<string>;
  /**
   * `graceful restart`: BIRD exits without withdrawing, so peers with graceful restart keep its
   * routes as stale and the kernel keeps its routes; start the next one with `recover: true`.
   */
  gracefulRestart(timeoutMs?: number): Promise<BirdExit>;
  /** SIGTERM (peers get a Cease, kernel routes removed), SIGKILL after `timeoutMs` (default 5 s). */
  stop(timeoutMs?: number): Promise<BirdExit>;
}

export class BirdStartError extends Error {
  override readonly name = "BirdStartError";
  constructor(
    readonly configPath: string,
    readonly reason: string,
  ) {
    super(`Cannot start BIRD with "${configPath}": ${reason}`);
  }
}

/** BIRD's `<CLASS>` → our level: remote and auth events are warnings, errors and bugs errors. */
export function birdLogLevel(line: string): BirdLogLevel {
  const cls = /<([A-Z]+)>/.exec(line)?.[1];
  // BIRD 2.0 logs its ordinary end, after SIGTERM or `down`, at class FATAL.
  if (cls === "FATAL" && /Shutdown completed/.test(line)) return "info";
  if (cls === undefined || cls === "ERR" || cls === "BUG" || cls === "FATAL") return "error";
  if (cls === "WARN" || cls === "RMT" || cls === "AUTH") return "warn";
  return "info";
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A BIRD outlives a parent that exits; an orphan would keep announcing and holding routes.
    process.on("exit", () => {
      for (const c of live) c.kill("SIGTERM");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

class Bird implements BirdHandle {
  private expected = false;
  private exitValue: BirdExit | undefined;
  readonly exited: Promise<BirdExit>;
  readonly stderrTail: string[] = [];

  constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly configPath: string,
    readonly ctlPath: string,
    private readonly pidPath: string,
    log: BirdLog | undefined,
    onExit: ((exit: BirdExit) => void) | undefined,
  ) {
    if (child.stderr) {
      createInterface({ input: child.stderr }).on("line", (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
        log?.(birdLogLevel(line), line);
      });
    }
    this.exited = new Promise<BirdExit>((resolve) => {
      const done = (code: number | null, signal: string | null) => {
        if (this.exitValue) return;
        this.exitValue = { code, signal, expected: this.expected };
        // A killed BIRD leaves its socket and pid file; the next one must not mistake them for live.
        rmSync(this.ctlPath, { force: true });
        rmSync(this.pidPath, { force: true });
        onExit?.(this.exitValue);
        resolve(this.exitValue);
      };
      child.once("exit", (code, signal) => done(code, signal));
      child.once("error", () => done(null, null));
    });
  }

  get running(): boolean {
    return this.exitValue === undefined;
  }

  tail(): string {
    return this.stderrTail.slice(-5).join("; ") || "(no output)";
  }

  async command(cmd: string, timeoutMs = 5000): Promise<string> {
    return replyText(await birdCommand(this.ctlPath, cmd, { timeoutMs }));
  }

  /**
   * `configure`: BIRD parses the file itself and refuses a bad one (8002, with FILE:LINE:COL),
   * keeping the running config. No `bird -p` here: the caller checks a file before it installs it
   * (BgpSpeaker through bird-state-dir.ts), and a second check would only cost another spawn.
   */
  async reload(): Promise<BirdReloadResult> {
    const reply = await birdCommand(this.ctlPath, "configure", { timeoutMs: 10_000, acceptErrors: true });
    const text = replyText(reply);
    switch (reply.code) {
      case 3:
        return "reconfigured";
      case 4:
      case 5:
      case 17:
        return "in-progress";
      case 19:
        return "unchanged";
      case 8002: {
        const line = reply.lines.find((l) => l.code === 8002)?.text ?? text;
        const at = parseBirdLocation(line);
        throw new BirdConfigError(this.configPath, at?.location, at?.message ?? line);
      }
      default:
        throw new BirdControlError(this.ctlPath, "configure", `unexpected reply ${reply.code}: ${text}`);
    }
  }

  async gracefulRestart(timeoutMs = 5000): Promise<BirdExit> {
    if (!this.running) return this.exited;
    this.expected = true;
    await birdCommand(this.ctlPath, "graceful restart", { timeoutMs });
    return this.waitOrKill(timeoutMs);
  }

  async stop(timeoutMs = 5000): Promise<BirdExit> {
    if (!this.running) return this.exited;
    this.expected = true;
    this.child.kill("SIGTERM");
    return this.waitOrKill(timeoutMs);
  }

  private async waitOrKill(timeoutMs: number): Promise<BirdExit> {
    // A timer left pending would keep the caller's process alive for the whole timeout.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const exit = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (exit) return exit;
    this.child.kill("SIGKILL");
    return this.exited;
  }
}

async function socketAnswers(ctlPath: string): Promise<boolean> {
  if (!existsSync(ctlPath)) return false;
  try {
    await birdCommand(ctlPath, "show status", { timeoutMs: 1000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Validates the config, starts BIRD and resolves once it answers on its control socket. Throws
 * BirdConfigError for a refused config, BirdStartError when it cannot run or exits early.
 */
export async function startBird(options: StartBirdOptions): Promise<BirdHandle> {
  const binary = options.binary ?? BIRD_BINARY;
  const configPath = validateBirdPath("config file", options.configPath);
  const ctlPath = validateBirdPath("control socket", options.ctlPath);
  const pidPath = validateBirdPath("pid file", options.pidPath);
  if (options.netns !== null) validateNetnsName(options.netns);
  try {
    assertNotRootNetns(options.netns);
  } catch (e) {
    throw new BirdStartError(configPath, errorText(e));
  }
  if (!existsSync(binary)) throw new BirdStartError(configPath, `${binary} not found (Debian package bird2)`);
  if (!options.checked) checkBirdConfig(configPath, binary);
  if (await socketAnswers(ctlPath))
    throw new BirdStartError(configPath, `another BIRD already answers on "${ctlPath}"`);
  rmSync(ctlPath, { force: true });

  const birdArgv = [
    binary,
    "-f",
    "-c",
    configPath,
    "-s",
    ctlPath,
    "-P",
    pidPath,
    ...(options.recover ? ["-R"] : []),
  ];
  const argv =
    options.netns === null ? birdArgv : [findProgram("ip"), "netns", "exec", options.netns, ...birdArgv];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let spawnError: Error | undefined;
  child.once("error", (e) => {
    spawnError = e;
  });
  // A spawn that failed outright has no pid (the reason follows as an "error" event).
  if (child.pid === undefined) throw new BirdStartError(configPath, `cannot run ${argv[0]}`);
  trackChild(child);
  const bird = new Bird(child, child.pid, configPath, ctlPath, pidPath, options.log, options.onExit);
  try {
    await pollUntil(
      `BIRD to answer on "${ctlPath}"`,
      async () => {
        if (spawnError) throw new BirdStartError(configPath, `cannot run ${argv[0]}: ${spawnError.message}`);
        if (!bird.running) throw new BirdStartError(configPath, `BIRD exited: ${bird.tail()}`);
        return socketAnswers(ctlPath);
      },
      options.startTimeoutMs ?? 10_000,
      { intervalMs: 50, detail: () => `BIRD stderr: ${bird.tail()}` },
    );
  } catch (e) {
    await bird.stop(2000);
    if (e instanceof BirdStartError) throw e;
    throw new BirdStartError(configPath, errorText(e));
  }
  return bird;
}

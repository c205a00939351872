/**
 * The lab router's BIRD: started by `lab up` in the router's namespace, stopped by `lab down`.
 *
 * BIRD runs as the child of a small supervisor (`podnet lab router-bird --dir LABDIR`, spawned
 * detached inside the router's namespace, like the lab's other daemons): BIRD must outlive the
 * `lab up` process, while startBird keeps BIRD a child of the process that started it (and stops
 * it when that one exits, so no BIRD is ever orphaned). The supervisor logs BIRD's lines to the
 * lab's log, stops BIRD on SIGTERM (peers get a Cease and withdraw its routes at once), and dies
 * with the namespace if `lab down` deletes it first. Files live under the lab's directory.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { pollUntil } from "../base/poll-until.ts";
import { birdCommand, replyText } from "../linux/bird-control.ts";
import { type BirdExit, checkBirdConfig, startBird } from "../linux/bird-process.ts";
import { spawnDetached } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { type LabRouterBirdInput, renderLabRouterBird } from "./lab-router-bird.ts";
import { logTail } from "./log-tail.ts";

export interface LabRouterPaths {
  readonly dir: string;
  readonly configPath: string;
  readonly ctlPath: string;
  readonly pidPath: string;
  /** The supervisor's pid, for `lab down` after a crash of `lab up`. */
  readonly supervisorPidPath: string;
  /** BIRD's and the supervisor's lines. */
  readonly logPath: string;
}

export class LabRouterError extends Error {
  override readonly name = "LabRouterError";
}

/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export function labRouterPaths(labDir: string): LabRouterPaths {
  const dir = `${labDir}/router-bird`;
  const paths = {
    dir,
    configPath: `${dir}/bird.conf`,
    ctlPath: `${dir}/bird.ctl`,
    pidPath: `${dir}/bird.pid`,
    supervisorPidPath: `${dir}/supervisor.pid`,
    logPath: `${labDir}/logs/router-bird.log`,
  };
  if (Buffer.byteLength(paths.ctlPath) > MAX_SOCKET_PATH)
    throw new LabRouterError(
      `The lab router's control socket "${paths.ctlPath}" is longer than a UNIX socket path may be (${MAX_SOCKET_PATH} bytes): use a shorter PODNET_LAB_ROOT`,
    );
  return paths;
}

/**
 * Renders the config and puts it in place only once BIRD accepts it (`bird -p` on a temporary
 * file, then rename): mode 0600, since it may hold the peers' password.
 */
export function writeLabRouterConfig(labDir: string, input: LabRouterBirdInput): LabRouterPaths {
  const paths = labRouterPaths(labDir);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const tmp = `${paths.configPath}.tmp`;
  writeFileSync(tmp, renderLabRouterBird(input), { mode: 0o600 });
  try {
    checkBirdConfig(tmp);
    renameSync(tmp, paths.configPath);
  } finally {
    rmSync(tmp, { force: true });
  }
  return paths;
}

/**
 * Runs the router's BIRD with the config already written until `stop` aborts (then stops it) or
 * it exits on its own; resolves with its exit. `netns` null: this process already runs in the
 * router's namespace (the supervisor); startBird refuses the root namespace either way.
 */
export async function serveLabRouterBird(
  netns: string | null,
  labDir: string,
  stop: AbortSignal,
  log: (line: string) => void,
): Promise<BirdExit> {
  const paths = labRouterPaths(labDir);
  const bird = await startBird({
    netns,
    configPath: paths.configPath,
    ctlPath: paths.ctlPath,
    pidPath: paths.pidPath,
    log: (_level, line) => log(line),
  });
  log(`lab router BIRD (pid ${bird.pid}) answers on ${paths.ctlPath}`);
  const aborted = new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener("abort", () => resolve(), { once: true });
  });
  const first = await Promise.race([bird.exited, aborted.then(() => undefined)]);
  const exit = first ?? (await bird.stop());
  log(
    `lab router BIRD exited (code ${exit.code}, signal ${exit.signal}${exit.expected ? "" : ", unexpected"})`,
  );
  return exit;
}

/**
 * What `podnet lab router-bird --dir LABDIR` runs inside the router's namespace: serves BIRD until
 * SIGTERM or SIGINT; exit status 0 when BIRD stopped because it was asked to.
 */
export async function labRouterBirdMain(labDir: string): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    const exit = await serveLabRouterBird(null, labDir, stop.signal, (line) => console.log(line));
    return exit.expected ? 0 : 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

/** The supervisor's command line: `podnet lab router-bird --dir LABDIR` of the lab's own CLI. */
export function labRouterSupervisorArgv(cli: string, labDir: string): string[] {
  return [cli, "lab", "router-bird", "--dir", labDir];
}

export interface LabRouterBird {
  readonly supervisorPid: number;
  readonly birdPid: number;
  readonly ctlPath: string;
  readonly configPath: string;
}

/** Running, not a zombie (a supervisor this process spawned stays one until it is reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` still runs a command line that names `marker` (a pid reused by another process is left alone). */
function runs(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .some((a) => a.includes(marker));
  } catch {
    return false;
  }
}

async function controlAnswers(ctlPath: string): Promise<boolean> {
  try {
    await birdCommand(ctlPath, "show status", { timeoutMs: 1000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the config, starts the supervisor in `netns` (`supervisorArgv`, normally
 * labRouterSupervisorArgv) and resolves once BIRD answers on its control socket.
 */
export async function startLabRouter(options: {
  readonly netns: string;
  readonly labDir: string;
  readonly input: LabRouterBirdInput;
  readonly supervisorArgv: readonly string[];
}): Promise<LabRouterBird> {
  const paths = writeLabRouterConfig(options.labDir, options.input);
  mkdirSync(`${options.labDir}/logs`, { recursive: true, mode: 0o700 });
  const supervisorPid = spawnDetached(inNetns(options.netns, options.supervisorArgv), paths.logPath);
  writeFileSync(paths.supervisorPidPath, `${supervisorPid}\n`);
  try {
    const { value: birdPid } = await pollUntil(
      `the lab router's BIRD to answer on ${paths.ctlPath}`,
      async () => {
        if (!alive(supervisorPid))
          throw new LabRouterError(`The lab router's BIRD did not start: ${logTail(paths.logPath)}`);
        const pid = readPid(paths.pidPath);
        return pid !== undefined && (await controlAnswers(paths.ctlPath)) && pid;
      },
      15_000,
      { detail: () => logTail(paths.logPath), intervalMs: 50 },
    );
    return { supervisorPid, birdPid, ctlPath: paths.ctlPath, configPath: paths.configPath };
  } catch (e) {
    await stopLabRouter(options.labDir);
    throw e;
  }
}

/**
 * Puts a new config in place (checked first, as at start) and has the running BIRD re-read it: a
 * filter change keeps the sessions, a session option (timers, password) restarts them. Returns
 * BIRD's answer; a refused config throws (BirdReplyError) and the old one keeps running.
 */
export async function reconfigureLabRouter(labDir: string, input: LabRouterBirdInput): Promise<string> {
  const paths = writeLabRouterConfig(labDir, input);
  return replyText(await birdCommand(paths.ctlPath, "configure", { timeoutMs: 10_000 }));
}

/** A command on the router's control socket (`show protocols`, `show route all`), as birdc prints it. */
export async function labRouterCommand(labDir: string, command: string): Promise<string> {
  return replyText(await birdCommand(labRouterPaths(labDir).ctlPath, command));
}

/**
 * Stops the router's BIRD before its namespace goes (SIGTERM to the supervisor, which stops BIRD:
 * the nodes see a Cease at once instead of a vanished peer), SIGKILL to both when they do not exit
 * within `timeoutMs`. Nothing running is fine. Returns what had to be killed, for lab down's warnings.
 */
export async function stopLabRouter(labDir: string, timeoutMs = 5000): Promise<string[]> {
  const paths = labRouterPaths(labDir);
  const supervisor = readPid(paths.supervisorPidPath);
  const bird = readPid(paths.pidPath);
  const ours = [
    ...(supervisor !== undefined && runs(supervisor, labDir)
      ? [{ what: "supervisor", pid: supervisor }]
      : []),
    ...(bird !== undefined && runs(bird, paths.configPath) ? [{ what: "BIRD", pid: bird }] : []),
  ];
  const first = ours[0];
  if (first) signal(first.pid, "SIGTERM");
  const killed: string[] = [];
  try {
    await pollUntil("the lab router's BIRD to stop", () => ours.every((p) => !alive(p.pid)), timeoutMs, {
      intervalMs: 25,
    });
  } catch {
    for (const p of ours) {
      if (!alive(p.pid)) continue;
      signal(p.pid, "SIGKILL");
      killed.push(`the lab router's ${p.what} (pid ${p.pid}) did not stop within ${timeoutMs} ms: killed`);
    }
  }
  rmSync(paths.supervisorPidPath, { force: true });
  return killed;
}

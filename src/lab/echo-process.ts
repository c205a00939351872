/**
 * A lab pod's echo server as a process: started inside the pod's namespace (detached, output in
 * the lab's logs/POD.log), and stopped by its pid once that pid is known to still be this pod's
 * echo server (a pid left in the state file may belong to something else by now).
 */

import { existsSync, readFileSync } from "node:fs";
import { pollUntil } from "../base/poll-until.ts";
import { spawnDetached } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { LabState } from "./lab-state.ts";
import { ECHO_PORT, labCli } from "./lab-state.ts";
import { logTail } from "./log-tail.ts";

export class EchoProcessError extends Error {
  override readonly name = "EchoProcessError";
}

const listenings = (path: string) =>
  existsSync(path) ? readFileSync(path, "utf8").split("listening").length - 1 : 0;

/** The echo server's command line (as /proc shows it, NUL-separated) is this pod's. */
function isEchoServerOf(pid: number, pod: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("echo-server") && argv[argv.indexOf("--pod") + 1] === pod;
  } catch {
    return false;
  }
}

/** Starts the echo server of pod `name` in `netns` and waits until it listens; returns its pid. */
export async function startEchoServer(state: LabState, name: string, netns: string): Promise<number> {
  const log = `${state.dir}/logs/${name}.log`;
  // `ip netns exec` execs the command: the pid is the echo server's own.
  const pid = spawnDetached(
    inNetns(netns, [labCli(state), "lab", "echo-server", "--pod", name, "--port", String(ECHO_PORT)]),
    log,
  );
  // A restarted server appends to the log of the one before: wait for one more "listening".
  const before = listenings(log);
  await pollUntil(`the echo server of ${name} to start`, () => listenings(log) > before, 10_000, {
    detail: () => logTail(log),
    intervalMs: 25,
  });
  return pid;
}

/** Kills pod `name`'s echo server (pid `pid`) and waits until it is gone. */
export async function stopEchoServer(pid: number, name: string): Promise<void> {
  if (!isEchoServerOf(pid, name))
    throw new EchoProcessError(`pid ${pid} is not the echo server of pod ${name} (stopped already?)`);
  process.kill(pid, "SIGKILL");
  await pollUntil(
    `the echo server of ${name} (pid ${pid}) to exit`,
    () => !isEchoServerOf(pid, name),
    5_000,
    {
      intervalMs: 20,
    },
  );
}

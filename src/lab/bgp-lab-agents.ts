/**
 * What the BGP claims of `lab check` do to a node's agent and read of its BIRD: whether a process
 * still runs, the BIRDs in a node's namespace, the agent stopped (SIGTERM, as an operator or
 * its service manager would) and started again with the command line it ran with, its new pid
 * recorded in the lab's state (so `lab down` stops it).
 */
import { readFileSync } from "node:fs";
import { errorText } from "../base/error-text.ts";
import { spawnDetached } from "../linux/exec.ts";
import { inNetns, netnsPids } from "../linux/netns.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { saveLabState } from "./lab-state.ts";
import { updateLabState } from "./lab-state-lock.ts";

/** Running and not a zombie. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** The BIRDs running in a node's namespace. */
export function birdsIn(netns: string): number[] {
  return netnsPids(netns).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "bird";
    } catch {
      return false;
    }
  });
}

/** How long until `check` holds, polled every 20 ms; undefined when it does not within `timeoutMs`. */
export async function measure(check: () => boolean, timeoutMs: number): Promise<number | undefined> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (check()) return Math.round(performance.now() - started);
    await Bun.sleep(20);
  }
  return check() ? Math.round(performance.now() - started) : undefined;
}

export class LabAgentError extends Error {
  override readonly name = "LabAgentError";
}

/** The command line the node's agent runs with (to start it again the same way). */
export function agentArgv(node: LabNode): string[] {
  try {
    const argv = readFileSync(`/proc/${node.agentPid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
    if (argv.length === 0) throw new Error("empty (the process has exited)");
    return argv;
  } catch (e) {
    throw new LabAgentError(
      `Cannot read the command line of ${node.name}'s agent (pid ${node.agentPid}): ${errorText(e)}`,
    );
  }
}

/**
 * SIGTERM to the node's agent; waits up to `timeoutMs` for it to exit (SIGKILL then) and returns
 * whether it exited by itself.
 */
export async function stopAgent(node: LabNode, timeoutMs = 15_000): Promise<boolean> {
  process.kill(node.agentPid, "SIGTERM");
  const exited = (await measure(() => !alive(node.agentPid), timeoutMs)) !== undefined;
  if (!exited) process.kill(node.agentPid, "SIGKILL");
  return exited;
}

/** Starts the node's agent with `argv` in its namespace; records and returns its pid. */
export async function startAgent(state: LabState, node: LabNode, argv: readonly string[]): Promise<number> {
  const agentPid = spawnDetached(inNetns(node.netns, [...argv]), `${state.dir}/logs/agent-${node.name}.log`);
  await updateLabState("lab check (agent restarted)", async (current) => {
    const i = current.nodes.findIndex((n) => n.name === node.name);
    if (i >= 0) current.nodes[i] = { ...(current.nodes[i] as LabNode), agentPid };
    saveLabState(current);
  });
  // The claims that follow stop this agent by the pid in `state`.
  const own = state.nodes.findIndex((n) => n.name === node.name);
  if (own >= 0) state.nodes[own] = { ...(state.nodes[own] as LabNode), agentPid };
  return agentPid;
}

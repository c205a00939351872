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

/**
 * The command line the node's agent runs with (to start it again the same way), after checking
 * that the recorded pid still is that agent — `podnet agent --node-name NODE` in the node's
 * namespace — so a pid reused by another process is never signalled nor its command re-run.
 */
export function agentArgv(node: LabNode): string[] {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${node.agentPid}/cmdline`, "utf8")
      .split("\0")
      .filter((a) => a !== "");
  } catch (e) {
    throw new LabAgentError(
      `Cannot read the command line of ${node.name}'s agent (pid ${node.agentPid}): ${errorText(e)}`,
    );
  }
  const problem = agentArgvProblem(argv, node.name);
  if (problem === undefined && !netnsPids(node.netns).includes(node.agentPid))
    throw new LabAgentError(`${node.name}'s agent (pid ${node.agentPid}) does not run in ${node.netns}`);
  if (problem !== undefined)
    throw new LabAgentError(`pid ${node.agentPid} recorded for ${node.name}'s agent is not it: ${problem}`);
  return argv;
}

/** Why `argv` is not `… agent … --node-name NODE …`, or undefined when it is (pure). */
export function agentArgvProblem(argv: readonly string[], nodeName: string): string | undefined {
  if (argv.length === 0) return "the process has exited";
  if (argv[1] !== "agent") return `it runs "${argv.slice(0, 2).join(" ")}", not podnet agent`;
  const i = argv.indexOf("--node-name");
  if (i < 0 || argv[i + 1] !== nodeName) return `it is not the agent of node ${nodeName}`;
  return undefined;
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

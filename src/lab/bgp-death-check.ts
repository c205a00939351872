/**
 * The observation behind the node-death claim (verdict in bgp-restart-claims.ts): the last node's
 * agent and BIRD frozen with SIGSTOP — a node that dies without a goodbye (powered off, hung,
 * cut off): no Cease, no TCP close, no keepalives — until its block leaves the router's kernel,
 * then thawed with SIGCONT (also after a failure) and waited for until the block is back. A
 * killed process would not do: its kernel closes the TCP session and the router withdraws at once.
 */
import { parseBgpProtocols } from "../linux/bird-status-parse.ts";
import { agentArgv, birdsIn, measure } from "./bgp-lab-agents.ts";
import { type NodeDeathObservation, sessionNeighbor } from "./bgp-restart-claims.ts";
import { routerHas } from "./bgp-router-table.ts";
import { labRouterCommand } from "./lab-router.ts";
import { LAB_ROUTER_HOLD_TIME } from "./lab-router-bird.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { nodeAddresses } from "./lab-state.ts";

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // exited meanwhile
    }
  }
}

/** The router's last error for its session with the node (the dynamic protocol that had it). */
async function routerLastError(state: LabState, node: LabNode): Promise<string | undefined> {
  const text = await labRouterCommand(state.dir, "show protocols all");
  const addresses = nodeAddresses(node);
  return parseBgpProtocols(text).find(
    (f) =>
      f.lastError !== undefined &&
      f.neighbor !== undefined &&
      sessionNeighbor(`Neighbor address: ${f.neighbor}`, addresses),
  )?.lastError;
}

export async function nodeDeathObservation(state: LabState): Promise<NodeDeathObservation> {
  const node = state.nodes[state.nodes.length - 1] as LabNode;
  const blocks = node.podCidrs;
  const holdSeconds = LAB_ROUTER_HOLD_TIME;
  const presentBefore = routerHas(state, blocks);
  agentArgv(node); // the recorded pid still is the node's agent (throws otherwise)
  const frozen = [node.agentPid, ...birdsIn(node.netns)];
  let goneMs: number | undefined;
  let lastError: string | undefined;
  signal(frozen, "SIGSTOP");
  try {
    goneMs = await measure(() => blocks.every((b) => !routerHas(state, [b])), holdSeconds * 1000 + 5000);
    lastError = await routerLastError(state, node);
  } finally {
    signal(frozen, "SIGCONT");
  }
  const backMs = await measure(() => routerHas(state, blocks), 30_000);
  return { node: node.name, blocks, holdSeconds, presentBefore, goneMs, lastError, backMs };
}

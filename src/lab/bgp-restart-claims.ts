/**
 * Two BGP claims of `lab check` about changes on a running cluster, as pure judgements over what
 * bgp-restart-check.ts observed: a peering change (the hold time) reaches every node's BIRD
 * without restarting an agent or a BIRD, and with graceful restart turned on, pods stay
 * reachable across an agent restart. Plus the reading of the router's `show protocols all`
 * they need. Each verdict is unit-tested, ✓ and ✗ alike.
 */
import { sameIP } from "../ipnet/address.ts";
import type { Verdict } from "./claims.ts";

/** `show protocols all` cut into one text per protocol (its header row and detail lines). */
export function protocolSections(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  let name: string | undefined;
  for (const line of text.split("\n")) {
    const header = /^(\S+)\s+BGP\s/.exec(line);
    if (header) name = header[1] as string;
    else if (/^\S/.test(line)) name = undefined;
    if (name !== undefined) sections.set(name, `${sections.get(name) ?? ""}${line}\n`);
  }
  return sections;
}

/** The restart time a session's neighbor advertised (its graceful-restart capability); undefined: none. */
export function neighborRestartTime(section: string): number | undefined {
  const neighbor = section.split(/^\s*Neighbor capabilities\s*$/m)[1];
  const m = neighbor ? /Restart time:\s+(\d+)/.exec(neighbor.split(/^\s*Session:/m)[0] ?? "") : null;
  return m ? Number(m[1]) : undefined;
}

/** Whether a protocol section is the session with a node of these addresses (with or without length). */
export function sessionNeighbor(section: string, addresses: readonly string[]): boolean {
  const m = /Neighbor address:\s+(\S+)/.exec(section);
  return m !== null && addresses.some((a) => sameIP(a.split("/")[0] as string, m[1] as string));
}

/** One node's session as the router saw it before and after a peering change. */
export interface SessionChange {
  readonly node: string;
  /** `since` of the router's session with the node, before the change and once it took effect. */
  readonly sinceBefore: string | undefined;
  readonly sinceAfter: string | undefined;
  /** The hold time negotiated after the change (`Hold timer: x/N`); undefined: not established. */
  readonly holdAfter: number | undefined;
  /** The node's BIRD before and after (the same process: a reload, not a restart). */
  readonly birdBefore: readonly number[];
  readonly birdAfter: readonly number[];
  readonly agentRunning: boolean;
}

export interface PeeringChangeObservation {
  readonly holdBefore: number;
  readonly holdSet: number;
  readonly sessions: readonly SessionChange[];
  /** How long until every session ran with the new hold time; undefined: not within the deadline. */
  readonly appliedMs: number | undefined;
  /** The config as `cluster bgp show --json` printed it before the change and after restoring it. */
  readonly configBefore: string;
  readonly configRestored: string;
  /** Every session back with the original hold time. */
  readonly restoredMs: number | undefined;
  readonly failure?: string;
}

export const PEERING_CHANGE_CLAIM =
  "a peering change on a running cluster (the hold time, via podnet cluster bgp set) reaches every node's BIRD by a reload: no agent or BIRD restarts, each session re-opens to negotiate it";

/**
 * Every node's session re-established with the new hold time, every BIRD the same process, no
 * agent down; and the config put back exactly, the sessions with the old hold time again. (BGP
 * negotiates the hold time in its OPEN message: a session can only take a new one by re-opening.)
 */
export function peeringChangeApplied(o: PeeringChangeObservation): Verdict {
  const problems: string[] = o.failure ? [o.failure] : [];
  if (o.sessions.length === 0) problems.push("no node session to observe");
  for (const s of o.sessions) {
    if (s.holdAfter !== o.holdSet)
      problems.push(
        `${s.node}'s session runs with hold time ${s.holdAfter ?? "(not established)"}, not ${o.holdSet}`,
      );
    if (s.sinceBefore === undefined || s.sinceAfter === undefined || s.sinceBefore === s.sinceAfter)
      problems.push(
        `${s.node}'s session did not re-open (since ${s.sinceBefore ?? "?"} → ${s.sinceAfter ?? "?"})`,
      );
    const same = s.birdBefore.length === 1 && s.birdAfter.length === 1 && s.birdBefore[0] === s.birdAfter[0];
    if (!same)
      problems.push(
        `${s.node}'s BIRD changed: pid ${s.birdBefore.join(",") || "none"} → ${s.birdAfter.join(",") || "none"}`,
      );
    if (!s.agentRunning) problems.push(`${s.node}'s agent is not running`);
  }
  if (o.appliedMs === undefined) problems.push(`the hold time ${o.holdSet} did not reach every session`);
  if (o.configRestored !== o.configBefore)
    problems.push(`the config was not restored: ${o.configRestored} instead of ${o.configBefore}`);
  if (o.restoredMs === undefined) problems.push(`the sessions did not return to hold time ${o.holdBefore}`);
  const nodes = o.sessions.map(
    (s) => `${s.node} (BIRD ${s.birdAfter[0]}, since ${s.sinceBefore} → ${s.sinceAfter})`,
  );
  return {
    ok: problems.length === 0,
    claim: PEERING_CHANGE_CLAIM,
    evidence: problems.length
      ? problems.join("; ")
      : `hold time ${o.holdBefore} → ${o.holdSet} s negotiated with the router in ${o.appliedMs} ms by ${nodes.join(", ")}; restored exactly, back to ${o.holdBefore} s in ${o.restoredMs} ms`,
  };
}

/** One node's agent restarted under probes, as seen from the router and the probing pod. */
export interface AgentRestartObservation {
  /** The node's agent exited on SIGTERM, its BIRD with it (by `graceful restart`). */
  readonly agentStopped: boolean;
  readonly birdStopped: boolean;
  /** The router showed "Neighbor graceful restart active" for the node while its BIRD was gone. */
  readonly staleSeen: boolean;
  /** The node's blocks were in the router's kernel at every look from the stop until they were re-learnt. */
  readonly blockKept: boolean;
  /** From SIGTERM to the agent's new start. */
  readonly downMs: number;
  /** From the agent's start to the router's session with it established again, graceful restart over. */
  readonly relearnedMs: number | undefined;
  /** Probes every 200 ms (or as fast as one answers) from before the stop until after the re-learning. */
  readonly probes: number;
  readonly probeSpanMs: number;
  /** The failed ones: ms since the first probe and why. */
  readonly failures: readonly string[];
}

export const NOT_RESTARTED: AgentRestartObservation = {
  agentStopped: false,
  birdStopped: false,
  staleSeen: false,
  blockKept: false,
  downMs: 0,
  relearnedMs: undefined,
  probes: 0,
  probeSpanMs: 0,
  failures: [],
};

export interface GracefulRestartObservation extends AgentRestartObservation {
  readonly node: string;
  readonly blocks: readonly string[];
  /** The probes: from a pod on another segment to a pod on `node`. */
  readonly from: string;
  readonly to: string;
  readonly restartSeconds: number;
  /** The router's session with every node re-opened with the restart time the config set. */
  readonly negotiated: boolean;
  /** The config as `cluster bgp show --json` printed it before and after restoring it. */
  readonly configBefore: string;
  readonly configRestored: string;
  /** The router holds every node's blocks again with graceful restart off. */
  readonly restored: boolean;
  readonly failure?: string;
}

export const GRACEFUL_RESTART_CLAIM =
  "with graceful restart turned on in the running cluster, a pod on another segment keeps reaching a pod on a node across its agent's restart: the router keeps the node's block (stale) and re-learns it";

/** Zero failed probes allowed: the block never leaves the router and the node keeps forwarding. */
export function reachableAcrossRestart(o: GracefulRestartObservation): Verdict {
  const problems: string[] = o.failure ? [o.failure] : [];
  if (!o.negotiated)
    problems.push(`the sessions did not re-open with graceful restart (restart time ${o.restartSeconds} s)`);
  if (!o.agentStopped) problems.push(`${o.node}'s agent did not exit on SIGTERM`);
  if (!o.birdStopped) problems.push(`${o.node}'s BIRD kept running after its agent stopped`);
  if (!o.staleSeen) problems.push(`the router never showed graceful restart active for ${o.node}`);
  if (!o.blockKept)
    problems.push(`${o.node}'s ${o.blocks.join(",")} left the router's table during the restart`);
  if (o.relearnedMs === undefined) problems.push(`the router did not re-learn ${o.node}'s blocks`);
  if (o.probes === 0) problems.push(`no probe ran from ${o.from} to ${o.to}`);
  if (o.failures.length > 0)
    problems.push(
      `${o.failures.length} of ${o.probes} probes ${o.from} → ${o.to} failed: ${o.failures.slice(0, 3).join("; ")}`,
    );
  if (o.configRestored !== o.configBefore)
    problems.push(`the config was not restored: ${o.configRestored} instead of ${o.configBefore}`);
  if (!o.restored)
    problems.push("the router did not hold every node's blocks again after graceful restart was turned off");
  return {
    ok: problems.length === 0,
    claim: GRACEFUL_RESTART_CLAIM,
    evidence: problems.length
      ? problems.join("; ")
      : `graceful restart on (restart time ${o.restartSeconds} s), ${o.node}'s agent down for ${o.downMs} ms: ${o.probes} probes ${o.from} → ${o.to} over ${o.probeSpanMs} ms, none failed; the router kept ${o.blocks.join(",")} (graceful restart active) and re-learnt it ${o.relearnedMs} ms after the agent started; config restored exactly`,
  };
}

/** A node frozen (its agent and BIRD stopped by SIGSTOP: no goodbye, no keepalives), then thawed. */
export interface NodeDeathObservation {
  readonly node: string;
  readonly blocks: readonly string[];
  readonly holdSeconds: number;
  readonly presentBefore: boolean;
  /** From the freeze to the last block gone from the router's kernel; undefined: still there. */
  readonly goneMs: number | undefined;
  /** The router's last error for the session once the blocks were gone (BIRD's wording). */
  readonly lastError: string | undefined;
  /** From the thaw to every block back; undefined: not back. */
  readonly backMs: number | undefined;
  readonly failure?: string;
}

export const NODE_DEATH_CLAIM =
  "a node that dies without a goodbye (its agent and BIRD frozen: no Cease, no keepalives) → the router withdraws its block when the hold time expires; back when the node is";

/** What the router's BIRD and kernel may add to the hold time on a loaded machine (measured: up to ~1 s). */
const DEATH_SLACK_MS = 2000;

/** Withdrawn by the hold timer (not by a Cease or a closed connection), within the hold time (+ DEATH_SLACK_MS). */
export function withdrawnByHoldTimer(o: NodeDeathObservation): Verdict {
  const problems: string[] = o.failure ? [o.failure] : [];
  const blocks = o.blocks.join(",");
  if (!o.presentBefore) problems.push(`${o.node}'s ${blocks} was not in the router's table before`);
  if (o.goneMs === undefined) problems.push(`${o.node}'s ${blocks} stayed in the router's table`);
  else if (o.goneMs > o.holdSeconds * 1000 + DEATH_SLACK_MS)
    problems.push(
      `${o.node}'s block left the router after ${o.goneMs} ms, later than the hold time (${o.holdSeconds} s)`,
    );
  if (o.goneMs !== undefined && !/hold timer expired/i.test(o.lastError ?? ""))
    problems.push(`the router's session ended with "${o.lastError ?? "no error"}", not by its hold timer`);
  if (o.backMs === undefined) problems.push(`${o.node}'s block did not come back after the node did`);
  return {
    ok: problems.length === 0,
    claim: NODE_DEATH_CLAIM,
    evidence: problems.length
      ? problems.join("; ")
      : `${o.node} (${blocks}) frozen: gone from the router after ${o.goneMs} ms (${o.lastError}; hold time ${o.holdSeconds} s, ${DEATH_SLACK_MS} ms allowed on top); back ${o.backMs} ms after it was thawed`,
  };
}

/**
 * Reading a node's BGP facts (pure): which routes BIRD installed, whether the agent speaks BGP,
 * how its sessions stand in a sentence, and the `birdc` commands that show more on the node.
 */
import type { NodeBgpFact, NodeBgpSessionFact, NodeFacts, RouteFact } from "../cluster/diagnosis-protocol.ts";
import { netnsWord, prefixWord } from "./command-words.ts";

/** BIRD's rtnetlink protocol: "bird" where /etc/iproute2/rt_protos names it, else its number. */
const BIRD_PROTOS: ReadonlySet<string> = new Set(["bird", "12"]);

export function isBirdRoute(r: RouteFact): boolean {
  return r.proto !== undefined && BIRD_PROTOS.has(r.proto);
}

/** The agent's BGP speaker, when some peer selects the node (bgp, or auto with BGP sessions). */
export function speakingBgp(facts: NodeFacts): NodeBgpFact | undefined {
  const b = facts.bgp;
  return b?.enabled === true && (facts.agent.backend === "bgp" || facts.agent.backend === "auto")
    ? b
    : undefined;
}

export function isEstablished(s: NodeBgpSessionFact): boolean {
  return s.state === "Established";
}

/** "peer router (192.0.2.1, AS 64512) Active since 2026-…, last error: …". */
export function sessionText(s: NodeBgpSessionFact): string {
  return [
    `peer ${s.peer} (${s.neighbor}, AS ${s.as}) ${s.state}`,
    s.since !== undefined ? ` since ${s.since}` : "",
    s.lastError !== undefined ? `, last error: ${s.lastError}` : "",
  ].join("");
}

/** `birdc -s SOCKET ARGS` (the socket's path checked; a placeholder when the agent did not say). */
export function birdc(facts: NodeFacts, args: string): string {
  const socket = facts.bgp?.controlSocket;
  return `birdc -s ${socket === undefined ? "BIRD-CTL" : netnsWord(socket)} ${args}`;
}

/** The commands that show why BIRD has (or lacks) a route to `block`. */
export function birdRouteCommands(facts: NodeFacts, block: string): string {
  return `${birdc(facts, `show route ${prefixWord(block)} all`)}; ${birdc(facts, "show protocols all")}`;
}

/**
 * Why BGP cannot be carrying routes on the node, or undefined when it may be: BIRD not running,
 * no session (configured or Established). `facts.bgp` absent: the agent reports no BGP status.
 */
export function bgpDownReason(facts: NodeFacts): string | undefined {
  const b = facts.bgp;
  if (b === undefined) return `${facts.node}'s agent reports no BGP speaker`;
  if (!b.enabled) return `no BGP peer of the cluster's BGP config selects ${facts.node}`;
  if (!b.running) return `${facts.node}'s BIRD is not running${b.lastError ? ` (${b.lastError})` : ""}`;
  if (b.sessions.length === 0) return `${facts.node}'s BIRD has no BGP session`;
  if (!b.sessions.some(isEstablished))
    return `no BGP session is up on ${facts.node}: ${b.sessions.map(sessionText).join("; ")}`;
  return undefined;
}

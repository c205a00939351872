/**
 * A node's BGP speaker for `podnet explain NODE-IP` (pure): whether BIRD runs, its router id, each
 * session with its state and age, routes received and advertised, and what it announces against
 * the blocks the node holds. What is wrong in it is drift (drift-bgp.ts), shown with the rest.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { isEstablished } from "./bgp-facts.ts";
import { age } from "./explain-context.ts";
import type { BgpPart } from "./explanation.ts";

/**
 * The node's BGP part, when its agent reports a BGP speaker that speaks (some peer selects the
 * node) or should (the bgp backend); `auto` without peers has nothing to show.
 */
export function bgpPart(f: NodeFacts, now: Date): BgpPart | undefined {
  const b = f.bgp;
  if (b === undefined || (!b.enabled && f.agent.backend !== "bgp")) return undefined;
  return {
    node: f.node,
    backend: f.agent.backend,
    enabled: b.enabled,
    running: b.running,
    ...(b.routerId === undefined ? {} : { routerId: b.routerId }),
    sessions: b.sessions.map((s) => ({
      peer: s.peer,
      ...(s.protocol === undefined ? {} : { protocol: s.protocol }),
      neighbor: s.neighbor,
      localAs: s.localAs,
      as: s.as,
      state: s.state,
      established: isEstablished(s),
      ...(s.since === undefined ? {} : { since: age(s.since, now) }),
      received: s.received,
      advertised: s.advertised,
      ...(s.lastError === undefined ? {} : { lastError: s.lastError }),
    })),
    announced: b.announced,
    held: f.agent.blocks,
    ...(b.lastError === undefined ? {} : { lastError: b.lastError }),
    ...(b.controlSocket === undefined ? {} : { controlSocket: b.controlSocket }),
  };
}

/**
 * The node's BGP speaker as its diagnosis answer reports it (pure): the status the agent last
 * polled from BIRD (bgp-status.ts), in the shape of its datastore record (bgp-status-record.ts),
 * plus whether a peer selects the node and where BIRD's control socket is.
 */
import type { NodeBgpFact } from "../cluster/diagnosis-protocol.ts";
import type { BgpStatus } from "./bgp-status.ts";
import { bgpStatusRecord } from "./bgp-status-record.ts";

export function nodeBgpFact(
  node: string,
  status: BgpStatus,
  controlSocket: string | undefined,
  now: Date,
): NodeBgpFact {
  const record = bgpStatusRecord(node, status, now);
  return {
    enabled: status.enabled,
    running: record.running,
    ...(record.routerId === undefined ? {} : { routerId: record.routerId }),
    announced: [...record.announced],
    sessions: record.sessions.map((s, i) => ({
      peer: s.peer,
      ...(status.sessions[i] === undefined ? {} : { protocol: status.sessions[i].protocol }),
      neighbor: s.neighbor,
      localAs: s.localAsNumber,
      as: s.asNumber,
      state: s.state,
      ...(s.since === undefined ? {} : { since: s.since }),
      received: s.received,
      advertised: s.advertised,
      ...(s.lastError === undefined ? {} : { lastError: s.lastError }),
    })),
    ...(record.lastError === undefined ? {} : { lastError: record.lastError }),
    ...(controlSocket === undefined ? {} : { controlSocket }),
  };
}

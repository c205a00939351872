/**
 * One Established iBGP session, node1 (192.0.2.11) with its segment's router (192.0.2.1, peer
 * "router-lan1", AS 64512), in the forms the BGP unit tests use: what BIRD's `show protocols all`
 * prints, what bird-status-parse.ts reads from it (BgpSessionFact), what the agent's speaker
 * reports (BgpSessionStatus) and what its diagnosis answer says (NodeBgpSessionFact). Each takes
 * the fields a test changes.
 */
import type { BgpSessionStatus } from "../../src/agent/bgp-status.ts";
import type { NodeBgpSessionFact } from "../../src/cluster/diagnosis-protocol.ts";
import type { BgpChannelRoutes, BgpSessionFact } from "../../src/linux/bird-status-parse.ts";

/** BIRD's `iso long` time of the session's last state change (the host's local time). */
export const ESTABLISHED_SINCE = "2026-12-06 16:47:29";

/** The router's IPv4 channel: 2 routes learned from it, the node's block announced to it. */
export const IPV4_ROUTES: BgpChannelRoutes = {
  family: "ipv4",
  state: "UP",
  imported: 2,
  filtered: 0,
  exported: 1,
  preferred: 2,
};

/** `show protocols all` with the node's session to the router Established (one IPv4 channel). */
export function showProtocolsEstablished(routes: { imported?: number; exported?: number } = {}): string {
  const imported = routes.imported ?? IPV4_ROUTES.imported;
  const exported = routes.exported ?? IPV4_ROUTES.exported;
  return `Name       Proto      Table      State  Since         Info
peer_router_lan1 BGP        ---        up     ${ESTABLISHED_SINCE}  Established
  BGP state:          Established
    Neighbor address: 192.0.2.1
    Neighbor AS:      64512
    Local AS:         64512
  Channel ipv4
    State:          UP
    Routes:         ${imported} imported, ${exported} exported, ${imported} preferred
`;
}

/** The session as bird-status-parse.ts reads it. */
export function establishedFact(more: Partial<BgpSessionFact> = {}): BgpSessionFact {
  return {
    protocol: "peer_router_lan1",
    state: "up",
    bgpState: "Established",
    since: ESTABLISHED_SINCE,
    info: "Established",
    routes: [IPV4_ROUTES],
    ...more,
  };
}

/** The session as the speaker reports it after a poll, Established for 12 s. */
export function establishedSession(more: Partial<BgpSessionStatus> = {}): BgpSessionStatus {
  return {
    peer: "router-lan1",
    protocol: "peer_router_lan1",
    neighbor: "192.0.2.1",
    localAddress: "192.0.2.11",
    asNumber: 64512,
    localAsNumber: 64512,
    kind: "ibgp",
    state: "up",
    bgpState: "Established",
    established: true,
    since: ESTABLISHED_SINCE,
    establishedSeconds: 12,
    routes: [IPV4_ROUTES],
    ...more,
  };
}

/** The session as a node's diagnosis answer reports it (ISO time, routes summed over families). */
export function establishedNodeSessionFact(more: Partial<NodeBgpSessionFact> = {}): NodeBgpSessionFact {
  return {
    peer: "router-lan1",
    protocol: "peer_router_lan1",
    neighbor: "192.0.2.1",
    localAs: 64512,
    as: 64512,
    state: "Established",
    since: "2026-12-06T10:00:00.000Z",
    received: IPV4_ROUTES.imported,
    advertised: IPV4_ROUTES.exported,
    ...more,
  };
}

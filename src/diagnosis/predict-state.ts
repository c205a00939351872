/**
 * The state of one packet's walk through the cluster (pure) and the small steps every part of the
 * walk takes: record a hop, move on, finish, drop. predict-walk.ts drives the walk.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { PodRecord } from "../k8s/service-model.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { addressWord } from "./command-words.ts";
import type { Candidate, Direction, Drop, Hop, PacketHeader, PathOutcome } from "./prediction-types.ts";

export interface NatRecord {
  readonly node: string;
  readonly kind: "dnat" | "snat";
  readonly before: PacketHeader;
  readonly after: PacketHeader;
}

export type At =
  | { readonly kind: "pod"; readonly pod: PodRecord }
  | {
      readonly kind: "node";
      readonly node: string;
      /** The device it arrives on; undefined when the node itself sends it. */
      readonly iif?: string;
      readonly arrival: "pod-l2" | "pod-l3" | "overlay" | "underlay" | "network" | "local";
    }
  | { readonly kind: "external"; readonly node?: string; readonly dev?: string };

export interface WalkState {
  readonly direction: Direction;
  readonly at: At;
  readonly packet: PacketHeader;
  readonly ttl?: number;
  readonly hops: readonly Hop[];
  readonly nat: readonly NatRecord[];
  readonly marked: boolean;
  readonly dnatted: boolean;
  readonly endpoint?: Candidate;
  readonly candidates?: readonly Candidate[];
  readonly steps: number;
}

export interface WalkEnd {
  readonly hops: readonly Hop[];
  readonly outcome: PathOutcome;
  readonly drop?: Drop;
  readonly packet: PacketHeader;
  readonly at: At;
  readonly nat: readonly NatRecord[];
  readonly endpoint?: Candidate;
  readonly candidates?: readonly Candidate[];
}

export interface WalkContext {
  readonly snapshot: ClusterSnapshot;
  readonly facts: readonly NodeFacts[];
  readonly unknowns: string[];
  /** Continues the walk at the packet's next location (predict-walk.ts's `walk`). */
  readonly walk: (w: WalkState) => WalkEnd[];
}

export const MAX_STEPS = 16;

export function showPacket(p: PacketHeader): string {
  return `${hostPort(p.src, p.sport)} → ${hostPort(p.dst, p.dport)}`;
}

export function hop(
  w: WalkState,
  h: Omit<Hop, "direction" | "packet" | "evidence" | "commands"> &
    Partial<Pick<Hop, "packet" | "evidence" | "commands">>,
): Hop {
  const ttl = h.ttl ?? w.ttl;
  return {
    direction: w.direction,
    ...h,
    packet: h.packet ?? w.packet,
    ...(ttl !== undefined ? { ttl } : {}),
    evidence: h.evidence ?? [],
    commands: h.commands ?? [],
  };
}

export function with_(w: WalkState, change: Partial<WalkState>, ...added: Hop[]): WalkState {
  return { ...w, ...change, hops: [...w.hops, ...added], steps: w.steps + 1 };
}

/**
 * Conntrack undoing a NAT for a reply: a masquerade on arrival (the destination goes back to the
 * original source) or a DNAT on departure (the source goes back to the original destination).
 */
export function unNat(w: WalkState, node: string, entry: NatRecord): WalkState {
  const b = entry.before;
  const snat = entry.kind === "snat";
  const packet: PacketHeader = snat
    ? { ...w.packet, dst: b.src, ...(b.sport !== undefined ? { dport: b.sport } : {}) }
    : { ...w.packet, src: b.dst, ...(b.dport !== undefined ? { sport: b.dport } : {}) };
  const description = snat
    ? `un-masquerade: ${hostPort(w.packet.dst, w.packet.dport)} → ${hostPort(packet.dst, packet.dport)}`
    : `un-DNAT: the reply's source ${hostPort(w.packet.src, w.packet.sport)} becomes ${hostPort(packet.src, packet.sport)} again`;
  const command = snat ? `conntrack -L -s ${addressWord(b.src)}` : `conntrack -L -d ${addressWord(b.dst)}`;
  return with_(
    w,
    { packet },
    hop(w, {
      point: "un-nat",
      node,
      where: `${node} conntrack`,
      description,
      packet,
      before: w.packet,
      commands: [{ node, command }],
    }),
  );
}

export function finish(w: WalkState, outcome: PathOutcome, drop?: Drop): WalkEnd {
  return {
    hops: w.hops,
    outcome,
    ...(drop ? { drop } : {}),
    packet: w.packet,
    at: w.at,
    nat: w.nat,
    ...(w.endpoint ? { endpoint: w.endpoint } : {}),
    ...(w.candidates ? { candidates: w.candidates } : {}),
  };
}

export function dropHere(
  w: WalkState,
  where: string,
  node: string | undefined,
  drop: Drop,
  extra?: Partial<Hop>,
): WalkEnd {
  const h = hop(w, {
    point: "drop",
    ...(node ? { node } : {}),
    where,
    description: drop.message,
    drop,
    evidence: drop.evidence,
    ...extra,
  });
  // A node that did not report is no drop anybody saw: the path's outcome is unknown past it.
  return finish(with_(w, {}, h), drop.reason === "agent-missing" ? "unknown" : "dropped", drop);
}

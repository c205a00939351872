/**
 * The state of one packet's walk through the cluster (pure) and the small steps every part of the
 * walk takes: record a hop, move on, finish, drop. predict-walk.ts drives the walk.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import type { PodRecord } from "../k8s/service-model.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import type { Candidate, Direction, Drop, Hop, PacketHeader, PathOutcome } from "./trace-types.ts";

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

export function hostPort(ip: string, port: number | undefined): string {
  if (port === undefined) return ip;
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

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
  return finish(with_(w, {}, h), "dropped", drop);
}

/**
 * What `podnet trace` predicts (pure data, JSON-able): observation points, drop reasons, hops,
 * paths and the prediction; docs/trace-json.md documents them as a stable schema.
 *
 * The vocabulary follows Cilium's named observation points and drop reasons (research §3): every
 * hop is one point a packet passes, on one node, with the addresses it carries when it leaves
 * that point, the facts that decided it and the command that shows them.
 */
import type { TraceProto } from "../cluster/diagnosis-protocol.ts";

/** Where on its path a packet is (one per hop). */
export type ObservationPoint =
  /** It leaves the source pod: the pod's own route decided where to. */
  | "from-pod"
  /** The source node originates it (output hook). */
  | "from-host"
  /** It arrives at a node from outside the cluster (the node's uplink). */
  | "from-network"
  /** It crosses the node's pod bridge: L2 to a pod on the same bridge, or to the gateway (L3). */
  | "bridge"
  /** The Service lookup rewrote its destination to one endpoint. */
  | "service-dnat"
  /** The Service rules refused it (reject-service: TCP reset or ICMP port unreachable). */
  | "service-reject"
  /** The node's routing decision. */
  | "fib"
  /** It is encapsulated in VXLAN. */
  | "to-overlay"
  /** It crosses the node network: to the next node's IP directly, or as an outer VXLAN packet. */
  | "underlay"
  /** It is decapsulated by the receiving node's VXLAN device. */
  | "from-overlay"
  /** Its source is rewritten to an address of the node (masquerade). */
  | "masquerade"
  /** Conntrack reverses an earlier DNAT or masquerade for a reply. */
  | "un-nat"
  /** It is delivered into the destination pod. */
  | "to-pod"
  /** It is delivered to the node itself. */
  | "to-host"
  /** It leaves the cluster towards an address outside it. */
  | "to-network"
  /** It is lost here (see `drop`). */
  | "drop";

export const OBSERVATION_POINTS: readonly ObservationPoint[] = [
  "from-pod",
  "from-host",
  "from-network",
  "bridge",
  "service-dnat",
  "service-reject",
  "fib",
  "to-overlay",
  "underlay",
  "from-overlay",
  "masquerade",
  "un-nat",
  "to-pod",
  "to-host",
  "to-network",
  "drop",
];

/** Why a packet was (or will be) lost or refused. */
export type DropReason =
  /** No route, or an unreachable/blackhole/prohibit route, for the destination. */
  | "no-route"
  /** A pod block is routed somewhere the datastore does not say (e.g. out of the default route). */
  | "wrong-route"
  /** A node that must forward has net.ipv4.ip_forward = 0. */
  | "ip-forward-off"
  /** Strict reverse-path filtering refuses the packet on the interface it arrived on. */
  | "rp-filter"
  /** The VXLAN device has no neighbour entry for the peer's VTEP address. */
  | "missing-neighbour"
  /** The VXLAN device has no forwarding entry for the peer's VTEP MAC. */
  | "missing-fdb"
  /** The Service has no endpoints: the reject-service chain answers. */
  | "no-endpoints"
  /** The ClusterIP or NodePort has no Service port for this protocol and port. */
  | "unknown-service-port"
  /** The node's nft rules lack a Service port the datastore has (the proxy has not caught up). */
  | "service-rules-missing"
  /** No pod holds the destination address on the node whose block it is in. */
  | "no-pod"
  /** The packet is larger than a device's MTU on the path. */
  | "mtu"
  /** An nft rule gave the verdict drop or reject. */
  | "nft-drop"
  /**
   * A reply bridged straight back to its client on the same bridge with br_netfilter off: it never
   * passes conntrack, so the Service's DNAT is not undone and the client drops the answer.
   */
  | "reply-not-un-natted"
  /** A node on the path did not answer, so nothing is known past it. */
  | "agent-missing"
  /** The packet was seen entering a node and never seen leaving it. */
  | "vanished"
  /** The probe got no answer and no node saw where the packet went. */
  | "timeout";

export const DROP_REASONS: readonly DropReason[] = [
  "no-route",
  "wrong-route",
  "ip-forward-off",
  "rp-filter",
  "missing-neighbour",
  "missing-fdb",
  "no-endpoints",
  "unknown-service-port",
  "service-rules-missing",
  "no-pod",
  "mtu",
  "nft-drop",
  "reply-not-un-natted",
  "agent-missing",
  "vanished",
  "timeout",
];

/** Drops the cluster means to happen: the reject of a Service without endpoints or port. */
export function isIntendedRefusal(reason: DropReason): boolean {
  return reason === "no-endpoints" || reason === "unknown-service-port";
}

export interface Drop {
  readonly reason: DropReason;
  readonly node?: string;
  /** "ip_forward is off on node2 (net.ipv4.ip_forward = 0)". */
  readonly message: string;
  readonly evidence: readonly string[];
}

/** The addresses a packet carries. */
export interface PacketHeader {
  readonly proto: TraceProto;
  readonly src: string;
  readonly dst: string;
  readonly sport?: number;
  readonly dport?: number;
}

/** A command that shows what decided a hop, without `ip netns exec`: run it on `node` (or in `pod`). */
export interface HopCommand {
  readonly node?: string;
  /** "namespace/name": run it inside that pod's network namespace. */
  readonly pod?: string;
  readonly command: string;
}

export type Direction = "forward" | "reply";

/** One endpoint the Service lookup may choose. */
export interface Candidate {
  readonly ip: string;
  readonly port?: number;
  /** "namespace/name", when a pod holds the address. */
  readonly pod?: string;
  readonly node?: string;
}

export interface VxlanHop {
  readonly device: string;
  readonly vni: number;
  readonly port: number;
  /** The peer's VTEP address (the route's gateway) and the MAC the neighbour entry gives it. */
  readonly vtep: string;
  readonly vtepMac?: string;
  readonly outerSrc?: string;
  /** The underlay address the forwarding entry sends the MAC to. */
  readonly outerDst?: string;
}

export interface RouteUsed {
  /** The route's destination ("10.244.3.0/24", "default"). */
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
  readonly onlink?: boolean;
  /** "lookup" when the node's `ip route get` answered, "table" when computed from its routes. */
  readonly source: "lookup" | "table";
}

export interface Hop {
  readonly direction: Direction;
  readonly point: ObservationPoint;
  /** The node whose kernel acts here (for from-pod: the pod's node); absent outside the cluster. */
  readonly node?: string;
  /** The pod ("namespace/name") when the hop is inside one. */
  readonly pod?: string;
  /** "node1 podnet0", "node1-a eth0", "node1 → node3 (underlay)". */
  readonly where: string;
  readonly description: string;
  /** The packet as it leaves this hop. */
  readonly packet: PacketHeader;
  /** The packet before this hop rewrote it (DNAT, masquerade, un-NAT). */
  readonly before?: PacketHeader;
  /** The expected IP TTL when the packet leaves this hop (64 at the sender, one less per router). */
  readonly ttl?: number;
  /** Bridged (l2, TTL unchanged) or routed (l3). */
  readonly layer?: "l2" | "l3";
  /**
   * Why the node's tracing cannot see this hop even when the packet passes (bridged traffic with
   * br_netfilter off never reaches the inet hooks); the comparison then expects no trace line.
   */
  readonly unobservable?: string;
  /** The device the packet arrives on / leaves by, as nft's iif/oif would print them. */
  readonly iif?: string;
  readonly oif?: string;
  readonly route?: RouteUsed;
  readonly vxlan?: VxlanHop;
  /** Service DNAT: every endpoint the lookup may choose. */
  readonly candidates?: readonly Candidate[];
  /** The Service ("namespace/name") this hop acts for. */
  readonly service?: string;
  readonly drop?: Drop;
  readonly evidence: readonly string[];
  readonly commands: readonly HopCommand[];
}

export type PathOutcome = "delivered" | "refused" | "dropped" | "left-cluster" | "unknown";

/** One way the packet can go: one per Service endpoint, or the only one. */
export interface PredictedPath {
  /** The endpoint this path DNATs to (Service destinations). */
  readonly endpoint?: Candidate;
  readonly forward: readonly Hop[];
  readonly reply: readonly Hop[];
  readonly outcome: PathOutcome;
  readonly drop?: Drop;
  /** The source address and port the destination will see. */
  readonly sourceSeen?: { readonly ip: string; readonly port?: number; readonly translated: boolean };
}

export interface Prediction {
  /** One path per candidate endpoint (Services), else one. */
  readonly paths: readonly PredictedPath[];
  /** The outcome of every path when they agree, "partial" when some paths fail and others do not. */
  readonly outcome: PathOutcome | "partial";
  readonly candidates: readonly Candidate[];
  /** What could not be predicted, and why (a node's facts missing, an address outside the cluster). */
  readonly unknowns: readonly string[];
}

/**
 * What `podnet trace` observes (pure data, JSON-able): the flow's packets, NAT, verdicts and
 * conntrack entries per node, and the hops stitched from them; docs/trace-json.md documents them.
 */
import type { ProbeResult } from "../cluster/diagnosis-protocol.ts";
import type { Direction, Drop, ObservationPoint, PacketHeader } from "./prediction-types.ts";

/** A packet of the flow as one nft hook on one node saw it. */
export interface SeenPacket {
  readonly node: string;
  readonly direction: Direction;
  /** "prerouting", "output", "postrouting" (after srcnat when seen by the observer), "input", "forward". */
  readonly hook: string;
  /** "inet podnet-trace-… trace-pre", "ip podnet nat-prerouting". */
  readonly chain: string;
  readonly atMs: number;
  readonly iif?: string;
  readonly oif?: string;
  readonly ttl?: number;
  readonly packet: PacketHeader;
}

export interface SeenVerdict {
  readonly node: string;
  readonly chain: string;
  readonly rule: string;
  readonly verdict: string;
}

export interface ObservedNode {
  readonly node: string;
  /** The node's observation arrived (false: listed on the path but silent). */
  readonly reported: boolean;
  /** Packets of the flow, in the order the node saw them. */
  readonly packets: readonly SeenPacket[];
  /** The Service DNAT that fired here: its chain maps back to the Service; `to` from the next hook or conntrack. */
  readonly dnat?: {
    readonly chain: string;
    readonly rule: string;
    readonly service?: string;
    readonly to?: { readonly ip: string; readonly port?: number };
  };
  /** The masquerade address the observer after srcnat (or conntrack) saw. */
  readonly snat?: { readonly ip: string; readonly port?: number; readonly how: "observer" | "conntrack" };
  /** Rules of the flow whose verdict was drop or reject. */
  readonly drops: readonly SeenVerdict[];
  readonly conntrack: readonly {
    readonly original: PacketHeader;
    readonly reply: PacketHeader;
    readonly state?: string;
    readonly flags: readonly string[];
  }[];
  /** VXLAN packets counted to and from peers during the probe ("vxlan-out 198.51.100.13" → 3). */
  readonly vxlan: readonly { readonly name: string; readonly packets: number }[];
  readonly sysctls: Readonly<Record<string, string>>;
  readonly errors: readonly string[];
}

/** One step of the observed story, in order. */
export interface ObservedHop {
  readonly direction: Direction;
  readonly node: string;
  readonly point: ObservationPoint;
  readonly description: string;
  readonly packet: PacketHeader;
  readonly iif?: string;
  readonly oif?: string;
  readonly ttl?: number;
  readonly layer?: "l2" | "l3";
  readonly evidence: readonly string[];
}

export interface Observation {
  readonly probed: boolean;
  readonly probe?: ProbeResult;
  /** The probe's outcome, or "not-probed". */
  readonly outcome: ProbeResult["outcome"] | "not-probed";
  readonly nodes: readonly ObservedNode[];
  readonly hops: readonly ObservedHop[];
  /** The endpoint that really answered, and how podnet knows. */
  readonly endpoint?: {
    readonly ip: string;
    readonly port?: number;
    readonly pod?: string;
    readonly how: "echo" | "conntrack" | "trace";
  };
  /** The source address the destination really saw, and how podnet knows. */
  readonly sourceSeen?: {
    readonly ip: string;
    readonly port?: number;
    readonly how: "echo" | "trace" | "observer" | "conntrack";
  };
  /** Where the packet was lost, when it was. */
  readonly drop?: Drop & { readonly direction: Direction };
  /** Nodes on the path that did not report. */
  readonly silent: readonly string[];
}

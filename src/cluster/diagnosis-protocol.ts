/**
 * How `podnet explain` and `podnet trace` ask the node agents for what only a node can see, through
 * the datastore: the CLI puts a request under a short lease it keeps alive; every agent the request
 * names answers with the *same* lease, so a request, its answers and (through the agents watching
 * it) the tracing rules it caused all go when the CLI revokes the lease or dies and the lease
 * expires. Nothing piles up.
 *
 * What the agents must see and what only the requester reads live under separate prefixes, so an
 * agent watches `requests/` alone and never receives the other nodes' (large) answers:
 * - `/podnet/diagnosis/requests/ID/request`        the CLI's {@link DiagnosisRequest}
 * - `/podnet/diagnosis/requests/ID/go`             the CLI: every agent on the path is armed, send the probe now (trace)
 * - `/podnet/diagnosis/requests/ID/probe`          the result of the probe ({@link ProbeResult}), written by the
 *                                                  source node's agent (pod and node sources) or by whoever sent
 *                                                  it (the lab's external host); the armed agents observe on it
 * - `/podnet/diagnosis/answers/ID/facts/NODE`      an agent's {@link NodeFacts} (every request)
 * - `/podnet/diagnosis/answers/ID/armed/NODE`      an agent's {@link ArmedReport}: its tracing rules and monitor are ready (trace)
 * - `/podnet/diagnosis/answers/ID/observed/NODE`   an agent's {@link NodeObservation}: what its kernel saw (trace)
 *
 * Every answer is bounded by its serialized size (MAX_ANSWER_BYTES, well under etcd's 1.5 MiB
 * request limit); what an agent had to cut is said in its `errors`.
 *
 * The records are data from the network: every reader validates them before use.
 */
import type {
  ConntrackFact,
  CounterFact,
  FdbFact,
  InterfaceFact,
  NeighbourFact,
  NftFacts,
  RouteFact,
  TraceEvent,
} from "../linux/kernel-facts.ts";
import type { BgpSessionState, BgpStatusRecord } from "./bgp-status-records.ts";
import { ROOT } from "./keys.ts";

export type {
  ConntrackFact,
  ConntrackTuple,
  CounterFact,
  FdbFact,
  InterfaceFact,
  NeighbourFact,
  NftFacts,
  NftSetFact,
  RouteFact,
  TraceEvent,
} from "../linux/kernel-facts.ts";

export const DIAGNOSIS_PREFIX = `${ROOT}/diagnosis/`;
/** What the agents watch: requests and the requester's (and prober's) signals. */
export const DIAGNOSIS_REQUESTS_PREFIX = `${DIAGNOSIS_PREFIX}requests/`;
/** What only the requester reads: the agents' answers. */
export const DIAGNOSIS_ANSWERS_PREFIX = `${DIAGNOSIS_PREFIX}answers/`;

/** Request ids: lowercase letters and digits, 8–32 characters (they name an nft table too). */
export const DIAGNOSIS_ID = /^[a-z0-9]{8,32}$/;

/** An answer's serialized size is kept under this (etcd refuses requests over 1.5 MiB by default). */
export const MAX_ANSWER_BYTES = 512 * 1024;

export type DiagnosisSignalPart = "request" | "go" | "probe";
export type DiagnosisAnswerPart = "facts" | "armed" | "observed";

/** The key of a request's signal, or of a node's answer. */
export function diagnosisKey(id: string, part: DiagnosisSignalPart): string;
export function diagnosisKey(id: string, part: DiagnosisAnswerPart, node: string): string;
export function diagnosisKey(
  id: string,
  part: DiagnosisSignalPart | DiagnosisAnswerPart,
  node?: string,
): string {
  switch (part) {
    case "request":
    case "go":
    case "probe":
      return `${DIAGNOSIS_REQUESTS_PREFIX}${id}/${part}`;
    default:
      return `${DIAGNOSIS_ANSWERS_PREFIX}${id}/${part}/${node ?? ""}`;
  }
}

/** The prefixes of one request's signals and of its answers (what its requester watches). */
export function diagnosisPrefixes(id: string): { readonly requests: string; readonly answers: string } {
  return { requests: `${DIAGNOSIS_REQUESTS_PREFIX}${id}/`, answers: `${DIAGNOSIS_ANSWERS_PREFIX}${id}/` };
}

export type DiagnosisKind = "facts" | "trace";

export interface RouteQuery {
  /** `ip route get DST [from FROM] [iif IIF]` in the node's namespace. */
  readonly dst: string;
  readonly from?: string;
  readonly iif?: string;
}

export type TraceSource =
  | { readonly kind: "pod"; readonly node: string; readonly namespace: string; readonly name: string }
  | { readonly kind: "node"; readonly node: string }
  /** A host outside the cluster: no agent sends for it; the requester does (the lab's external host). */
  | { readonly kind: "external"; readonly ip: string };

export type TraceProto = "tcp" | "udp" | "icmp";

export interface TraceSpec {
  readonly proto: TraceProto;
  readonly source: TraceSource;
  /** Where the probe goes: a pod, node, ClusterIP, node IP (NodePort) or outside address. */
  readonly destination: { readonly ip: string; readonly port?: number };
  /** The probe's local port (tcp/udp), chosen by the requester so the tracing rules can match it. */
  readonly sourcePort?: number;
  /**
   * What the tracing rules match, in both directions: a packet is traced when its (saddr, daddr)
   * is one of `pairs` (each pair is listed once; the rules add the reverse) and, for tcp/udp,
   * one of its ports is in `ports`.
   */
  readonly match: {
    readonly pairs: readonly (readonly [string, string])[];
    readonly ports: readonly number[];
  };
  /** Underlay addresses of peers whose VXLAN packets (to or from them) are counted. */
  readonly vxlanPeers: readonly string[];
  /** How long the probe may take before it counts as unanswered. */
  readonly probeTimeoutMs: number;
}

export interface DiagnosisRequest {
  readonly id: string;
  readonly kind: DiagnosisKind;
  readonly createdAt: string;
  /** Who asked ("podnet explain on HOST pid N"), for the agents' logs. */
  readonly requester: string;
  /** The nodes that answer; empty means every node. */
  readonly nodes: readonly string[];
  /** Addresses of interest: conntrack entries naming any of them are reported. */
  readonly addresses: readonly string[];
  /** FIB lookups every answering node makes. */
  readonly routeLookups: readonly RouteQuery[];
  readonly trace?: TraceSpec;
}

// ---- what a node reports: NodeFacts ---------------------------------------------------------

export interface NodePodFact {
  readonly network: string;
  readonly namespace: string;
  readonly name: string;
  readonly containerId: string;
  readonly ifname: string;
  /** The pod's network namespace path as the runtime gave it (CNI_NETNS). */
  readonly netns?: string;
  readonly ips: readonly string[];
  readonly recordedAt: string;
  /** The host side veth (found by its alias), if any. */
  readonly hostVeth?: string;
  /** What is really inside the pod's namespace on `ifname`, when it could be read. */
  readonly inside?: {
    readonly mac: string;
    readonly addresses: readonly string[];
    readonly routes: readonly RouteFact[];
  };
  /** Why `inside` could not be read (namespace gone, …). */
  readonly insideError?: string;
}

export interface AllocationFact {
  readonly network: string;
  readonly ip: string;
  readonly containerId: string;
  readonly ifname: string;
  readonly allocatedAt: string;
}

export interface ReleaseFact {
  readonly network: string;
  readonly ip: string;
  readonly containerId: string;
  readonly ifname: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly releasedAt: string;
}

export interface RouteLookupFact {
  readonly query: RouteQuery;
  /** The route the kernel chose, as `ip -j route get` reports it. */
  readonly route?: RouteFact;
  /** The kernel's refusal ("Network is unreachable", …). */
  readonly error?: string;
}

export interface NodeFacts {
  readonly node: string;
  readonly collectedAt: string;
  /** The agent's own view: its backend, uplink and announced node IPs. */
  readonly agent: {
    readonly backend: string;
    readonly uplink: string;
    readonly nodeIPs: readonly string[];
    readonly blocks: readonly string[];
  };
  readonly interfaces: readonly InterfaceFact[];
  /** The main routing table. */
  readonly routes: readonly RouteFact[];
  readonly neighbours: readonly NeighbourFact[];
  /** The VXLAN device's forwarding entries. */
  readonly fdb: readonly FdbFact[];
  /** net.ipv4.ip_forward, net.ipv4.conf.{all,UPLINK,BRIDGE}.rp_filter, net.bridge.bridge-nf-call-iptables, … */
  readonly sysctls: Readonly<Record<string, string>>;
  readonly nft: NftFacts;
  readonly pods: readonly NodePodFact[];
  readonly allocations: readonly AllocationFact[];
  /** Recently released addresses (newest first, bounded). */
  readonly releases: readonly ReleaseFact[];
  /** Entries naming any of the request's addresses (bounded). */
  readonly conntrack: readonly ConntrackFact[];
  readonly routeLookups: readonly RouteLookupFact[];
  /**
   * The agent's BGP speaker (agent-bgp.ts), when it has one: absent from agents before the bgp
   * backend, and from agents whose backend never speaks BGP.
   */
  readonly bgp?: NodeBgpFact;
  /** What could not be read, and why: a partial answer says so. */
  readonly errors: readonly string[];
}

/** One BGP session of the node's BIRD, as its agent last polled it (`show protocols all`). */
export interface NodeBgpSessionFact extends BgpSessionState {
  /** BIRD's name for the session (`birdc show protocols all NAME`). */
  readonly protocol?: string;
  readonly localAs: number;
  readonly as: number;
}

/** The node's BGP speaker: what its status record holds (running, routerId, announced, lastError) and more. */
export interface NodeBgpFact
  extends Pick<BgpStatusRecord, "running" | "routerId" | "announced" | "lastError"> {
  /** Some peer of the cluster's BGP config selects this node: its BIRD should run. */
  readonly enabled: boolean;
  readonly sessions: readonly NodeBgpSessionFact[];
  /** BIRD's control socket on the node (`birdc -s PATH`). */
  readonly controlSocket?: string;
}

// ---- trace ----------------------------------------------------------------------------------

export interface ArmedReport {
  readonly node: string;
  /** The nft table the agent installed ("inet podnet-trace-ID"). */
  readonly table: string;
  readonly error?: string;
}

export type ProbeOutcome =
  /** tcp: connected (and maybe got a line); udp: got a datagram back; icmp: echo reply. */
  | "answered"
  /** tcp RST / icmp port unreachable. */
  | "refused"
  /** icmp host/net unreachable or admin prohibited. */
  | "unreachable"
  | "timeout"
  | "error";

export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  readonly ms: number;
  readonly localIp?: string;
  readonly localPort?: number;
  /** Who answered as the prober saw it (TCP peer / UDP reply source / ICMP reply source). */
  readonly replyFrom?: string;
  /** The first line the destination sent, when it sent one (≤ 512 bytes). */
  readonly answer?: string;
  /** When the answer is podnet's echo protocol: who answered and whom it saw. */
  readonly echo?: {
    readonly pod: string;
    readonly ip: string;
    readonly from: string;
    readonly fromPort: number;
  };
  readonly error?: string;
}

export interface NodeObservation {
  readonly node: string;
  readonly events: readonly TraceEvent[];
  /** Conntrack entries of the probe's flow (after it). */
  readonly conntrack: readonly ConntrackFact[];
  readonly counters: readonly CounterFact[];
  /** The sysctls that decide forwarding at this moment (ip_forward, rp_filter). */
  readonly sysctls: Readonly<Record<string, string>>;
  readonly errors: readonly string[];
}

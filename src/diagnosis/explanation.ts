/**
 * What `podnet explain ADDRESS` answers, as plain JSON-able data (schema "podnet.explain/v1",
 * documented field by field in docs/explain-json.md): what the address is (every kind that
 * applies), who gave it out (cluster range → block → lease → allocation), how every node reaches
 * it, whether every node's kernel agrees (checks), the conntrack flows naming it, and the drift
 * that concerns it.
 */
import type { NodeBgpFact, NodeBgpSessionFact } from "../cluster/diagnosis-protocol.ts";
import type { Endpoint, ServicePort } from "../k8s/service-model.ts";
import type { Drift } from "./drift-kinds.ts";

export const EXPLAIN_SCHEMA = "podnet.explain/v1";

/** The kinds an address can be; several may apply at once (a node IP with a NodePort). */
export type AddressKind =
  /** A pod's address (pod record in the datastore, or allocation/pod row on its node). */
  | "pod"
  /** A node's pod gateway: the first usable address of its block, on the bridge. */
  | "gateway"
  /** A node's VXLAN tunnel endpoint: its block's network address, on podnet-vx. */
  | "vtep"
  /** An underlay address a node announces or holds on its uplink. */
  | "node-ip"
  /** The ClusterIP of a Service. */
  | "cluster-ip"
  /** A node IP with the NodePort of a Service. */
  | "node-port"
  /** Inside a leased block, but nobody holds it now. */
  | "free"
  /** Inside a cluster CIDR but in no leased block. */
  | "unleased"
  /** Inside a service CIDR but no Service has it. */
  | "service-range"
  /** Outside every cluster and service range and not a node IP. */
  | "outside";

/** One thing a node's kernel should show, and whether it does. */
export interface Check {
  readonly node: string;
  readonly ok: boolean;
  /** What should be true ("10.244.3.2 on eth0 in the pod's namespace"). */
  readonly what: string;
  /** What the node reported ("eth0 0a:58:… has 10.244.3.2/24"), or what is missing. */
  readonly evidence: string;
  /** A command that shows it, to run on `node` (node-agnostic: no `ip netns exec`). */
  readonly command: string;
}

/** How one node reaches the block holding the address: what it should do, and whether it does. */
export interface BlockRoute extends Check {
  readonly block: string;
  /**
   * local: the node's own block; direct: via the owner's node IP; vxlan: through podnet-vx; bgp:
   * BIRD's route (proto bird), learned over BGP; not-routed: podnet would not route it (see `reason`).
   */
  readonly how: "local" | "direct" | "vxlan" | "bgp" | "not-routed";
  readonly via?: string;
  /**
   * `auto` with BGP sessions: BIRD's route to the block (proto bird, metric 32) as the node
   * reported it, which wins over podnet's direct or VXLAN route (metric 1024, the backup) while
   * BGP carries the block.
   */
  readonly bgpRoute?: string;
  readonly vtepMac?: string;
  readonly underlay?: string;
  /** Why podnet would not route it (not-routed), e.g. the backend cannot reach that peer. */
  readonly reason?: string;
}

/** A node's BGP speaker: its sessions, and what it announces against the blocks it holds. */
/** A session as the node's agent reported it, with its state's age. */
export interface BgpSessionPart extends Omit<NodeBgpSessionFact, "since"> {
  readonly established: boolean;
  readonly since?: Age;
}

/** The node's BGP fact (enabled, running, routerId, announced, lastError, controlSocket) and what explain adds. */
export interface BgpPart extends Omit<NodeBgpFact, "sessions"> {
  readonly node: string;
  readonly backend: string;
  readonly sessions: readonly BgpSessionPart[];
  /** The blocks the node holds (its agent's view). */
  readonly held: readonly string[];
}

export interface Age {
  /** ISO 8601. */
  readonly at: string;
  /** Seconds between `at` and the explanation's `now` (negative when `at` is in the future). */
  readonly ageSeconds: number;
}

export interface Provenance {
  /** The cluster CIDR (pod addresses) or service CIDR (ClusterIPs) holding the address. */
  readonly range?: string;
  readonly block?: {
    readonly block: string;
    readonly node: string;
    /** Leased (the node is alive) or in grace after the node left (no lease). */
    readonly leased: boolean;
    readonly claimed?: Age;
  };
  readonly allocation?: {
    readonly node: string;
    readonly network: string;
    readonly containerId: string;
    readonly ifname: string;
    readonly allocated: Age;
  };
  /** ClusterIPs: the band of the service CIDR the address lies in. */
  readonly band?: "static" | "dynamic";
}

export interface PodPart {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  /** The pod record is in the datastore (endpoint candidate). */
  readonly inDatastore: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly containerId?: string;
  readonly ifname?: string;
  readonly netns?: string;
  /** The MAC of `ifname` inside the pod. */
  readonly mac?: string;
  readonly hostVeth?: string;
  /** The bridge the host veth is a port of. */
  readonly bridge?: string;
}

export interface NodeAddressPart {
  readonly node: string;
  readonly block: string;
  /** The device holding it per the node's facts (podnet0, podnet-vx), if any. */
  readonly device?: string;
  /** The device's MAC (for a VTEP: what peers must have in their neighbour tables). */
  readonly mac?: string;
}

export interface NodeIPPart {
  readonly node: string;
  readonly backend: string;
  /** What the node record announces. */
  readonly announced: readonly string[];
  /** What the node's uplink holds now (from its agent), with prefix length. */
  readonly current?: readonly string[];
  readonly uplink?: string;
  readonly changed: boolean;
}

export interface ServicePart {
  /** namespace/name. */
  readonly service: string;
  readonly clusterIPs: readonly string[];
  readonly serviceCidr?: string;
  readonly band?: "static" | "dynamic";
  readonly ports: readonly ServicePort[];
  readonly endpoints: readonly Endpoint[];
  readonly sessionAffinity: string;
}

export interface NodePortPart {
  readonly node?: string;
  readonly service: string;
  readonly port: ServicePort;
  readonly endpoints: readonly Endpoint[];
  /** NodePort traffic is masqueraded to the node's address when it is forwarded to another node's endpoint. */
  readonly masquerade: string;
}

export interface EndpointUse {
  readonly service: string;
  /** "tcp 80→8080", one per port. */
  readonly ports: readonly string[];
}

export interface FreePart {
  readonly block: string;
  readonly node: string;
  /** Who held it last, when the node remembers. */
  readonly lastHolder?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly containerId: string;
    readonly ifname: string;
    readonly released: Age;
  };
}

export interface EgressDecision {
  readonly node: string;
  /**
   * Whether pod traffic from this node to the address is masqueraded; absent when unknown (an
   * older agent reports its `ip6 podnet` sets mixed with `ip podnet`'s: see `reason`).
   */
  readonly masquerade?: boolean;
  /** The address the destination sees when masqueraded (the node IP). */
  readonly as?: string;
  readonly reason: string;
}

/** A node's own routing decision for the address (`ip route get ADDRESS`), when it made one. */
export interface FibDecision {
  readonly node: string;
  /** The route the kernel chose, as ip prints it. */
  readonly route?: string;
  /** The kernel's refusal ("Network is unreachable"). */
  readonly error?: string;
  readonly command: string;
}

export interface ConntrackSummary {
  readonly total: number;
  readonly perNode: Readonly<Record<string, number>>;
  readonly flows: readonly {
    readonly node: string;
    readonly proto: string;
    readonly state?: string;
    /** "10.244.0.2:41796 → 10.102.49.235:80". */
    readonly original: string;
    readonly reply: string;
    readonly flags: readonly string[];
    readonly timeoutSeconds: number;
  }[];
}

export interface Explanation {
  readonly schema: typeof EXPLAIN_SCHEMA;
  readonly query: { readonly ip: string; readonly port?: number };
  readonly now: string;
  readonly snapshot: { readonly store: string; readonly revision: number; readonly readAt: string };
  /** The nodes whose facts were used. */
  readonly nodes: readonly string[];
  readonly kinds: readonly AddressKind[];
  /** One line: what the address is. */
  readonly summary: string;
  readonly provenance: Provenance;
  readonly pod?: PodPart;
  readonly gateway?: NodeAddressPart;
  readonly vtep?: NodeAddressPart;
  readonly nodeIP?: NodeIPPart;
  /** A node IP's node: its BGP speaker, when its agent reports one. */
  readonly bgp?: BgpPart;
  readonly service?: ServicePart;
  readonly nodePort?: NodePortPart;
  readonly endpointOf: readonly EndpointUse[];
  readonly free?: FreePart;
  readonly egress?: readonly EgressDecision[];
  /** How every node reaches the block holding the address. */
  readonly routes: readonly BlockRoute[];
  /** What every node's kernel should show about the address, and whether it does. */
  readonly checks: readonly Check[];
  /** Each node's FIB decision for the address (from the request's route lookups). */
  readonly fib: readonly FibDecision[];
  readonly conntrack: ConntrackSummary;
  readonly drift: {
    /** Drift that concerns the address (its block, its Service, its nodes). */
    readonly relevant: readonly Drift[];
    /** How many other drift findings the cluster has. */
    readonly others: number;
  };
  /** Nodes that did not answer, and why. */
  readonly missing: readonly { readonly node: string; readonly reason: string }[];
}

/**
 * What `podnet ui` sends the page (plain JSON, pure types): the map of the cluster — segments with
 * their nodes and the routers between them, every node's blocks with their pods, the links between
 * nodes as the agents' real routes make them, Services with their endpoints, hosts outside the
 * cluster the operator named (the lab's external host), and the drift explain finds — and the HTTP
 * API the page calls. The page draws it; it changes nothing in the cluster.
 *
 * API (read-only; every request carries the token when the server listens beyond loopback):
 * - GET /                       the page
 * - GET /api/map                the current {@link ClusterMap}
 * - GET /api/events             Server-Sent Events: `event: map` with a {@link ClusterMap} whenever it
 *                               changes (the newest only: a slow page skips versions), `: ping` every 5 s
 * - GET /api/explain?address=A  an Explanation (diagnosis/explanation.ts), as `podnet explain --json`
 * - GET /api/trace?source=S&destination=D[&probe=0]
 *                               a TraceReport (diagnosis/trace-types.ts), as `podnet trace --json`
 * Errors: JSON {@link ApiError} with status 400 (bad input, naming it), 401 (no or wrong token),
 * 403 (a Host that is not the server's address, a cross-site request, or /api/trace without the
 * token header or a same-origin fetch), 404, 503 (datastore unreachable).
 */

export const MAP_SCHEMA = "podnet.map/v1";

/** The header the page sends the token in (the event stream sends `?token=`; /api/trace takes only the header). */
export const TOKEN_HEADER = "x-podnet-token";

export interface MapPod {
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  /** Further addresses (another family). */
  readonly otherIPs: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

export interface MapBlock {
  readonly cidr: string;
  /** Addresses pods may get (the block minus network, gateway and broadcast). */
  readonly size: number;
  readonly used: number;
  /** Leased to a live node (false: in grace after its node left). */
  readonly leased: boolean;
  readonly gateway: string;
  /** The VXLAN tunnel endpoint address (the block's network address) when the node runs VXLAN. */
  readonly vtep?: string;
  readonly pods: readonly MapPod[];
}

export interface MapNode {
  readonly name: string;
  readonly nodeIPs: readonly string[];
  readonly backend: string;
  /** The segment (connected subnet of its uplink) the node sits on; undefined when unknown. */
  readonly segment?: string;
  readonly blocks: readonly MapBlock[];
  /** Whether its agent answered the last facts request. */
  readonly answering: boolean;
  /** Its BGP speaker, when it speaks BGP or should (the bgp backend): the explain panel has the rest. */
  readonly bgp?: MapNodeBgp;
}

/** A node's BIRD at a glance: whether it runs and how many of its sessions are up. */
export interface MapNodeBgp {
  /** Some peer of the cluster's BGP config selects the node. */
  readonly enabled: boolean;
  readonly running: boolean;
  readonly sessions: number;
  /** Sessions in state Established. */
  readonly established: number;
}

export interface MapSegment {
  /** "192.0.2.0/24": the connected subnet of the nodes' uplinks. */
  readonly cidr: string;
  /** The default gateway addresses the nodes on it use (the {@link MapRouter}s say which router holds each). */
  readonly routers: readonly string[];
  readonly nodes: readonly string[];
}

/** A router the operator names (`podnet ui --router NAME=IP[,IP...]`, or the lab's): the addresses it holds. */
export interface NamedRouter {
  /** A DNS-label-like word: lower-case letters, digits and inner hyphens, at most 63. */
  readonly name: string;
  readonly addresses: readonly string[];
  readonly note?: string;
}

/**
 * One router of the map, as a thing rather than an address: a {@link NamedRouter}, or a default
 * gateway address no named router holds (then named by that address).
 */
export interface MapRouter {
  readonly name: string;
  /** Every address it holds that the map knows; the first is the one it is shown by. */
  readonly addresses: readonly string[];
  /** The segments (cidrs) whose nodes use one of its addresses as their default gateway. */
  readonly segments: readonly string[];
  readonly note?: string;
}

/**
 * direct: podnet's route via the peer's node IP (host-gw); vxlan: podnet's route through the
 * tunnel; bgp: BIRD's route (proto bird), learned over BGP — via the peer on the same segment, or
 * via the router.
 */
export type LinkKind = "direct" | "vxlan" | "bgp";

export interface MapLink {
  /** The node whose route this is. */
  readonly from: string;
  /** The peer whose block the route reaches. */
  readonly to: string;
  readonly kind: LinkKind;
  readonly block: string;
  /** The route as `ip route` prints it on `from`. */
  readonly route: string;
  /**
   * The router (a {@link MapRouter}'s name) the route goes through: its next hop is an address of
   * that router (a bgp route to a peer on another segment; for a missing one, the router of
   * `from`'s segment it should take). Absent: straight to the peer, or through a tunnel.
   */
  readonly router?: string;
  /** The route is what the datastore says it should be (false: drift on this link). */
  readonly ok: boolean;
}

export interface MapServicePort {
  readonly protocol: string;
  readonly port: number;
  readonly targetPort: number;
  readonly nodePort?: number;
}

export interface MapService {
  readonly namespace: string;
  readonly name: string;
  /** Empty for a headless Service. */
  readonly clusterIPs: readonly string[];
  /** No ClusterIP: its name resolves to its ready pods, the proxy makes no rules for it. */
  readonly headless?: boolean;
  readonly ports: readonly MapServicePort[];
  readonly endpoints: readonly { readonly ip: string; readonly pod: string; readonly node: string }[];
}

export interface MapHost {
  readonly name: string;
  readonly ip: string;
  readonly note: string;
  /** The host's subnet ("203.0.113.0/24"), when known: it joins the host to the routers with an address in it. */
  readonly cidr?: string;
  /**
   * Set by the map: the routers (names) with an address in `cidr`. Absent when that is unknown
   * (no cidr, or no router address in it): the host is then drawn joined to every router.
   */
  readonly routers?: readonly string[];
}

export interface MapDrift {
  readonly node: string;
  readonly kind: string;
  readonly subject: string;
  readonly problem: string;
  readonly command: string;
}

export interface ClusterMap {
  readonly schema: typeof MAP_SCHEMA;
  /** Increases with every change the server pushes. */
  readonly version: number;
  readonly generatedAt: string;
  readonly store: string;
  /** The store revision this version's content was read at (the feed's own facts requests move the store's without a new version). */
  readonly revision: number;
  readonly clusterCidrs: readonly string[];
  readonly serviceCidrs: readonly string[];
  readonly segments: readonly MapSegment[];
  readonly routers: readonly MapRouter[];
  readonly nodes: readonly MapNode[];
  readonly links: readonly MapLink[];
  readonly services: readonly MapService[];
  readonly hosts: readonly MapHost[];
  readonly drift: readonly MapDrift[];
  /** Nodes whose agents did not answer, and why. */
  readonly missing: readonly { readonly node: string; readonly reason: string }[];
  /** When the kernel facts (segments, links, drift) were last read. */
  readonly factsAt?: string;
  /**
   * Set while the map cannot be refreshed (reading or watching the datastore fails): it shows the
   * cluster as it was at `revision`. `since`: the first failure (ISO time); `reason`: the latest.
   */
  readonly stale?: MapStale;
}

export interface MapStale {
  readonly since: string;
  readonly reason: string;
}

export interface ApiError {
  readonly error: string;
}

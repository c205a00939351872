/**
 * The drift findings' types (pure), apart from drift.ts so that the drift-*.ts checks and the
 * Explanation can name them without an import cycle; drift.ts re-exports them.
 */

export type DriftKind =
  | "missing-route"
  | "wrong-route"
  | "missing-fdb"
  | "stale-fdb"
  | "missing-neighbour"
  | "stale-neighbour"
  | "missing-service"
  | "missing-endpoint"
  | "stale-endpoint"
  | "allocation-without-interface"
  | "interface-without-allocation"
  | "pod-record-without-allocation"
  | "ip-forward-off"
  | "rp-filter-strict"
  | "node-ip-changed"
  | "agent-not-answering"
  | "nft-table-missing"
  /** The node's agent speaks BGP (bgp, or auto with peers) but its BIRD does not run. */
  | "bgp-not-running"
  /** A BGP session of the node is not Established. */
  | "bgp-session-down"
  /** The node holds a block its BIRD does not announce. */
  | "bgp-unannounced-block"
  /** The node's BIRD announces a block the node does not hold. */
  | "bgp-stray-announcement";

export interface Drift {
  readonly node: string;
  readonly kind: DriftKind;
  /** What it is about: an address, a block, "ip:port/proto", a MAC, a table. */
  readonly subject: string;
  /** What is wrong, as a sentence whose subject is the node ("has no route to node2's block …"). */
  readonly problem: string;
  /** The fact that shows it, as the node reported it. */
  readonly evidence: string;
  /** The command that shows it, to run on `node` (node-agnostic form: no `ip netns exec`). */
  readonly command: string;
}

/** Drift that breaks every path through its node, so it concerns every address the node handles. */
export const NODE_WIDE_DRIFT: ReadonlySet<DriftKind> = new Set<DriftKind>([
  "ip-forward-off",
  "rp-filter-strict",
  "agent-not-answering",
  "nft-table-missing",
  "node-ip-changed",
  "bgp-not-running",
  "bgp-session-down",
]);

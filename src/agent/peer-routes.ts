/**
 * Which route each peer's pod block gets (pure): a direct route via the peer's node IP when the
 * peer is on a directly connected subnet (host-gw), or a route through the VXLAN device when it
 * is not (vxlan), per the node's backend — `auto` picks per peer, like flannel's DirectRouting.
 * With the bgp backend no kernel route comes from podnet: BIRD installs what its peers announce
 * (kind "bgp", kept for metrics and explain). With `auto` and BGP sessions on the node, the
 * direct/VXLAN routes are installed at a backup metric, so BIRD's (metric 32) win while a
 * session is up and the kernel falls back to them at once on a withdrawal (PLAN decision 4).
 */

import { unhandled } from "../base/unhandled.ts";
import type { Backend, NodeRecord } from "../cluster/node-record.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { parseIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { containsIP, firstIP, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";

export interface LocalView {
  readonly name: string;
  readonly backend: Backend;
  /** Subnets the node's uplink is directly connected to (from its addresses). */
  readonly connected: readonly IPPrefix[];
  /** This node's own blocks: a peer claiming one of them is not routed. */
  readonly ownBlocks: readonly IPPrefix[];
  /**
   * Why a block may not be routed as a peer's (not a node block of the cluster, not leased to
   * that peer in the datastore), or undefined when it may. Records are data from the network:
   * routing a bogus block could replace this node's own routes.
   */
  readonly blockProblem: (peer: string, block: IPPrefix) => string | undefined;
  /** `auto` with BGP sessions: direct and VXLAN routes go in at BACKUP_ROUTE_METRIC. */
  readonly bgpBackup?: boolean;
}

/**
 * The metric of podnet's routes under BIRD's: BIRD installs with metric 32 (its kernel protocol's
 * default), and the lower metric wins in both families; 1024 is IPv6's default metric anyway.
 */
export const BACKUP_ROUTE_METRIC = 1024;

export type PeerRoute =
  | {
      readonly kind: "direct";
      readonly peer: string;
      readonly block: IPPrefix;
      readonly via: IPAddress;
      /** Undefined: the kernel's default (0 for IPv4, 1024 for IPv6). */
      readonly metric?: number;
    }
  | {
      /** BIRD routes it (learned over BGP); podnet installs nothing. */
      readonly kind: "bgp";
      readonly peer: string;
      readonly block: IPPrefix;
      /** The peer's node IP of the block's family: the next hop BGP should carry, when it has one. */
      readonly nextHop?: IPAddress;
    }
  | {
      readonly kind: "vxlan";
      readonly peer: string;
      readonly block: IPPrefix;
      readonly metric?: number;
      /** The peer's VTEP address: the network address of its block (flannel's convention). */
      readonly vtep: IPAddress;
      readonly vtepMac: string;
      /** Where the encapsulated packets go: the peer's node IP. */
      readonly underlay: IPAddress;
    };

export interface SkippedPeer {
  readonly peer: string;
  readonly block: string;
  readonly reason: string;
}

export interface PeerRoutePlan {
  readonly routes: readonly PeerRoute[];
  readonly skipped: readonly SkippedPeer[];
}

export function usesVxlan(backend: Backend): boolean {
  switch (backend) {
    case "vxlan":
    case "auto":
      return true;
    case "host-gw":
    case "bgp":
      return false;
    default:
      return unhandled(backend);
  }
}

/** The VXLAN tunnel endpoint address a node uses for one of its blocks. */
export function vtepAddress(block: IPPrefix): IPAddress {
  return firstIP(block);
}

export function planPeerRoutes(local: LocalView, peers: readonly NodeRecord[]): PeerRoutePlan {
  const routes: PeerRoute[] = [];
  const skipped: SkippedPeer[] = [];
  for (const peer of peers) {
    if (peer.name === local.name) continue;
    const nodeIPs = peer.nodeIPs.map((ip) => parseIP(ip));
    for (const blockText of peer.blocks) {
      const block = parsePrefix(blockText);
      const problem =
        local.blockProblem(peer.name, block) ??
        ([...local.ownBlocks, ...local.connected].some((own) => prefixesOverlap(own, block))
          ? "it overlaps this node's own block or a directly connected subnet"
          : undefined);
      if (problem !== undefined) {
        skipped.push({ peer: peer.name, block: blockText, reason: problem });
        continue;
      }
      const sameFamily = nodeIPs.find((ip) => ip.family === block.family);
      if (local.backend === "bgp") {
        routes.push({ kind: "bgp", peer: peer.name, block, ...(sameFamily ? { nextHop: sameFamily } : {}) });
        continue;
      }
      const metric = local.bgpBackup ? { metric: BACKUP_ROUTE_METRIC } : {};
      const direct =
        sameFamily && local.connected.some((c) => containsIP(c, sameFamily)) ? sameFamily : undefined;
      const skip = (reason: string) => skipped.push({ peer: peer.name, block: blockText, reason });
      if (local.backend !== "vxlan" && direct) {
        routes.push({ kind: "direct", peer: peer.name, block, via: direct, ...metric });
        continue;
      }
      if (!usesVxlan(local.backend)) {
        skip(
          `its node IP ${peer.nodeIPs.join(",") || "(none)"} is not on a directly connected subnet (host-gw needs one L2 segment; use auto or vxlan)`,
        );
        continue;
      }
      if (!usesVxlan(peer.backend)) {
        skip(
          peer.backend === "bgp"
            ? "it runs the bgp backend and has no VXLAN device: only a BGP route reaches it"
            : "it runs the host-gw backend and has no VXLAN device to decapsulate",
        );
        continue;
      }
      // The tunnel's outer packets go to the peer's IPv4 node IP when it has one (the VXLAN
      // device is bound to one underlay family), else to its IPv6 one.
      const underlay = nodeIPs.find((ip) => ip.family === 4) ?? nodeIPs[0];
      if (!underlay) {
        skip("it announces no node IP");
        continue;
      }
      routes.push({
        kind: "vxlan",
        peer: peer.name,
        block,
        vtep: vtepAddress(block),
        vtepMac: peer.vtepMac,
        underlay,
        ...metric,
      });
    }
  }
  return { routes, skipped };
}

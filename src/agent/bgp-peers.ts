/**
 * Which BGP sessions a node runs (pure): the peers of the cluster's BgpConfig that select this
 * node, each resolved to what BIRD needs — the local address and AS, iBGP or eBGP, timers,
 * password, and the address families the session carries.
 *
 * Selection: a peer without a selector peers with the nodes that have a node IP on a subnet
 * holding the peer's address (the segment's router); a selector narrows to node IPs inside its
 * CIDR and/or to named nodes (every condition given must hold). Families: one session carries
 * both families over MP-BGP (FINDINGS: an IPv4 session announced IPv4 and IPv6 blocks), so an
 * IPv4 session also carries IPv6 unless the node has an IPv6 session of its own; IPv4 over an
 * IPv6-only session (RFC 8950 extended next hop) is not offered.
 */
import type { BgpConfig, BgpPeer } from "../cluster/bgp-config.ts";
import type { Family, IPAddress } from "../ipnet/address.ts";
import { ipEquals, tryParseIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { containsIP, parsePrefix } from "../ipnet/prefix.ts";

export interface BgpSession {
  /** BIRD's protocol name: "peer_" and the peer's name with "-" as "_". */
  readonly protocol: string;
  readonly peer: string;
  readonly address: IPAddress;
  /** The node IP the session is sourced from (same family as the peer's address). */
  readonly localAddress: IPAddress;
  readonly asNumber: number;
  readonly localAsNumber: number;
  readonly kind: "ibgp" | "ebgp";
  /** 0 turns keepalives and the hold timer off (RFC 4271 §4.2). */
  readonly holdTimeSeconds: number;
  /** Absent when the hold time is 0. */
  readonly keepaliveSeconds?: number;
  readonly families: readonly Family[];
  /**
   * An IPv4 session carrying IPv6 routes: the node's IPv6 address on the peer's segment, the next
   * hop its IPv6 blocks are announced with (BIRD would fix it when the session starts and keep it
   * when the address changes).
   */
  readonly nextHop6?: IPAddress;
  readonly password?: string;
  readonly multihop?: number;
  readonly allowLocalAs: boolean;
}

export interface BgpNodeView {
  readonly name: string;
  readonly nodeIPs: readonly IPAddress[];
  /** Subnets the node's uplink is connected to. */
  readonly connected: readonly IPPrefix[];
  /** Families the cluster has pod ranges in. */
  readonly podFamilies: readonly Family[];
}

export interface BgpPeerSelection {
  readonly sessions: readonly BgpSession[];
  /** Peers that select this node but cannot be used, and why. */
  readonly skipped: readonly { readonly peer: string; readonly reason: string }[];
  /** Pod families no session carries: this node's blocks of that family are not announced. */
  readonly unannounced: readonly { readonly family: Family; readonly reason: string }[];
}

const PEER_NAME = /^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/;
/** Printable ASCII without the quote and the backslash: nothing BIRD's string syntax interprets. */
export const BGP_PASSWORD = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,80}$/;
const MAX_AS = 4_294_967_295;

export function birdProtocolName(peer: string): string {
  return `peer_${peer.replaceAll("-", "_")}`;
}

/** Why a peer's settings cannot go into a BIRD config, or undefined when they can. */
export function bgpPeerProblem(peer: BgpPeer, holdTimeSeconds: number): string | undefined {
  if (!PEER_NAME.test(peer.name))
    return `name ${JSON.stringify(peer.name)} is not [a-z0-9-], ≤ 52 characters`;
  const as = [peer.asNumber, peer.localAsNumber ?? 1];
  if (as.some((n) => !Number.isInteger(n) || n < 1 || n > MAX_AS)) return "AS number is not 1..4294967295";
  if (peer.password !== undefined && !BGP_PASSWORD.test(peer.password))
    return "password must be 1-80 printable ASCII characters without quotes or backslashes";
  if (
    !Number.isInteger(holdTimeSeconds) ||
    (holdTimeSeconds !== 0 && (holdTimeSeconds < 3 || holdTimeSeconds > 65535))
  )
    return `hold time ${holdTimeSeconds} is not 0 or 3..65535`;
  if (
    peer.multihop !== undefined &&
    (!Number.isInteger(peer.multihop) || peer.multihop < 1 || peer.multihop > 255)
  )
    return `multihop ${peer.multihop} is not 1..255`;
  return undefined;
}

function selects(peer: BgpPeer, address: IPAddress, node: BgpNodeView): boolean {
  const { selector } = peer;
  if (selector === undefined || (selector.cidr === undefined && selector.nodes === undefined))
    return node.connected.some((c) => containsIP(c, address));
  if (selector.nodes !== undefined && !selector.nodes.includes(node.name)) return false;
  if (selector.cidr !== undefined) {
    let cidr: IPPrefix;
    try {
      cidr = parsePrefix(selector.cidr);
    } catch {
      return false; // never a valid config (parseBgpConfig rejects it): selects no node
    }
    if (!node.nodeIPs.some((ip) => containsIP(cidr, ip))) return false;
  }
  return true;
}

/** A peer's keepalive: the cluster's when it is below the peer's hold time, else a third of it. */
function keepaliveFor(config: BgpConfig, hold: number): number | undefined {
  if (hold === 0) return undefined;
  return config.keepaliveSeconds > 0 && config.keepaliveSeconds < hold
    ? config.keepaliveSeconds
    : Math.max(1, Math.floor(hold / 3));
}

export function selectBgpPeers(config: BgpConfig, node: BgpNodeView): BgpPeerSelection {
  const skipped: { peer: string; reason: string }[] = [];
  const chosen: Omit<BgpSession, "families">[] = [];
  for (const peer of config.peers) {
    const address = tryParseIP(peer.address);
    if (address === undefined) {
      skipped.push({
        peer: peer.name,
        reason: `address ${JSON.stringify(peer.address)} is not an IP address`,
      });
      continue;
    }
    if (!selects(peer, address, node)) continue;
    const hold = peer.holdTimeSeconds ?? config.holdTimeSeconds;
    const problem = bgpPeerProblem(peer, hold);
    const sameFamily = node.nodeIPs.filter((ip) => ip.family === address.family);
    const local = sameFamily.find((ip) =>
      node.connected.some((c) => containsIP(c, ip) && containsIP(c, address)),
    );
    const reason =
      problem ??
      (sameFamily.some((ip) => ipEquals(ip, address)) ? "its address is this node's own" : undefined) ??
      (sameFamily.length === 0 ? `this node has no IPv${address.family} node IP to peer from` : undefined) ??
      (chosen.some((s) => s.protocol === birdProtocolName(peer.name))
        ? "another peer has the same name"
        : undefined);
    if (reason !== undefined) {
      skipped.push({ peer: peer.name, reason });
      continue;
    }
    const localAsNumber = peer.localAsNumber ?? config.asNumber;
    chosen.push({
      protocol: birdProtocolName(peer.name),
      peer: peer.name,
      address,
      localAddress: local ?? (sameFamily[0] as IPAddress),
      asNumber: peer.asNumber,
      localAsNumber,
      kind: peer.asNumber === localAsNumber ? "ibgp" : "ebgp",
      holdTimeSeconds: hold,
      ...(hold === 0 ? {} : { keepaliveSeconds: keepaliveFor(config, hold) }),
      ...(peer.password === undefined ? {} : { password: peer.password }),
      ...(peer.multihop === undefined ? {} : { multihop: peer.multihop }),
      allowLocalAs: peer.allowLocalAs === true,
    });
  }
  const native = new Set(chosen.map((s) => s.address.family));
  const sessions: BgpSession[] = [];
  for (const s of chosen) {
    const families = node.podFamilies.filter(
      (f) => f === s.address.family || (f === 6 && s.address.family === 4 && !native.has(6)),
    );
    if (families.length === 0)
      skipped.push({ peer: s.peer, reason: `the cluster has no IPv${s.address.family} pods` });
    else {
      const v6 =
        s.address.family === 4 && families.includes(6)
          ? (node.nodeIPs.find(
              (ip) => ip.family === 6 && node.connected.some((c) => c.family === 6 && containsIP(c, ip)),
            ) ?? node.nodeIPs.find((ip) => ip.family === 6))
          : undefined;
      sessions.push({ ...s, families: [...families].sort(), ...(v6 ? { nextHop6: v6 } : {}) });
    }
  }
  const unannounced = node.podFamilies
    .filter((f) => !sessions.some((s) => s.families.includes(f)))
    .map((family) => ({
      family,
      reason:
        family === 4 && sessions.length > 0
          ? "no IPv4 peer selects this node (IPv4 routes over an IPv6 session are not supported)"
          : `no usable peer selects this node`,
    }));
  return { sessions, skipped, unannounced };
}

/**
 * The BGP router id of a node (pure). BGP needs a 32-bit id per speaker (RFC 6286): the node's
 * IPv4 node IP when it has one, else a stable hash of the node name, as Calico does for IPv6-only
 * nodes. The speaker fixes it at its first start, so a node IP change does not change it.
 */
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP, ipFromBigint } from "../ipnet/address.ts";

/** FNV-1a over the UTF-8 bytes of the name: stable across versions and platforms. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The router id as BIRD writes it (a dotted quad); never 0.0.0.0, which BGP refuses. */
export function bgpRouterId(nodeName: string, nodeIPs: readonly IPAddress[]): string {
  const v4 = nodeIPs.find((ip) => ip.family === 4);
  if (v4 !== undefined && v4.value !== 0n) return formatIP(v4);
  const hash = fnv1a32(nodeName);
  return formatIP(ipFromBigint(4, BigInt(hash === 0 ? 1 : hash)));
}

/**
 * Where podnet keeps cluster state in the datastore. Everything lives under one prefix, so two
 * clusters can share an etcd by using different prefixes.
 */

import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { parsePrefix } from "../ipnet/prefix.ts";

export const ROOT = "/podnet";
export const CONFIG_KEY = `${ROOT}/config`;
export const NODES_PREFIX = `${ROOT}/nodes/`;
export const BLOCKS_PREFIX = `${ROOT}/blocks/`;
export const IPAM_PREFIX = `${ROOT}/ipam/`;
/** How nodes peer over BGP (one record; absent: BGP not configured). */
export const BGP_KEY = `${ROOT}/bgp`;
/** Each node's BGP sessions as its agent last saw them (`/podnet/bgp-status/NODE`, under its lease). */
export const BGP_STATUS_PREFIX = `${ROOT}/bgp-status/`;

export function nodeKey(name: string): string {
  return `${NODES_PREFIX}${name}`;
}

/** `/podnet/blocks/10.244.1.0-24`: the block's network address and length ("/" would nest). */
export function blockKey(block: IPPrefix): string {
  return `${BLOCKS_PREFIX}${formatIP(block.network)}-${block.length}`;
}

export function blockFromKey(key: string): IPPrefix {
  const rest = key.slice(BLOCKS_PREFIX.length);
  const dash = rest.lastIndexOf("-");
  return parsePrefix(`${rest.slice(0, dash)}/${rest.slice(dash + 1)}`);
}

export function ipamKey(node: string): string {
  return `${IPAM_PREFIX}${node}`;
}

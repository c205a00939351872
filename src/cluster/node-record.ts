/**
 * What each node announces in the datastore (`/podnet/nodes/NAME`): its addresses, its pod
 * blocks and how to reach them. Peers derive their routes from these records alone — "what
 * leases exist" stays separate from "how packets move" (flannel's seam).
 */
import { parseIP } from "../ipnet/address.ts";
import { parsePrefix } from "../ipnet/prefix.ts";

/**
 * How a node reaches its peers' blocks: host-gw (direct routes on one segment), vxlan (a
 * tunnel), auto (direct where possible, else the tunnel; with BGP peers both only as a backup
 * under BIRD's routes), bgp (BIRD announces the node's blocks and installs its peers'; no tunnel).
 */
export type Backend = "host-gw" | "vxlan" | "auto" | "bgp";

export const BACKENDS: readonly Backend[] = ["host-gw", "vxlan", "auto", "bgp"];

export interface NodeRecord {
  readonly name: string;
  /** The node's underlay addresses (one per family at most). */
  readonly nodeIPs: readonly string[];
  /** Pod blocks leased to the node, one per family. */
  readonly blocks: readonly string[];
  readonly backend: Backend;
  /** MAC of the node's VXLAN device, for peers that reach it through VXLAN. */
  readonly vtepMac: string;
}

export const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

export class InvalidNodeRecordError extends Error {
  override readonly name = "InvalidNodeRecordError";
}

/** Parses a record read from the store; a malformed one is rejected, never half-used. */
export function parseNodeRecord(key: string, text: string): NodeRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidNodeRecordError(`Node record ${key} is not JSON`);
  }
  const r = raw as Partial<NodeRecord>;
  const fail = (why: string) => new InvalidNodeRecordError(`Node record ${key}: ${why}`);
  if (typeof r.name !== "string" || !NODE_NAME.test(r.name)) throw fail("bad or missing name");
  if (!Array.isArray(r.nodeIPs) || r.nodeIPs.some((ip) => typeof ip !== "string"))
    throw fail("nodeIPs must be a list of addresses");
  if (!Array.isArray(r.blocks) || r.blocks.some((b) => typeof b !== "string"))
    throw fail("blocks must be a list of CIDRs");
  if (!BACKENDS.includes(r.backend as Backend)) throw fail(`unknown backend ${JSON.stringify(r.backend)}`);
  if (typeof r.vtepMac !== "string" || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(r.vtepMac))
    throw fail("bad vtepMac");
  try {
    for (const ip of r.nodeIPs) parseIP(ip);
    for (const b of r.blocks) parsePrefix(b);
  } catch (e) {
    throw fail((e as Error).message);
  }
  return {
    name: r.name,
    nodeIPs: r.nodeIPs,
    blocks: r.blocks,
    backend: r.backend as Backend,
    vtepMac: r.vtepMac,
  };
}

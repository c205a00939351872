/**
 * The node's VXLAN device: one per node, bound to the uplink and the node's IPv4 (else IPv6)
 * address, learning off (podnet programs FDB and neighbour entries itself, like flannel), with
 * each local pod block's network address as its tunnel endpoint address.
 */

import { VXLAN_DEV, VXLAN_PORT, VXLAN_VNI } from "../cluster/vxlan-convention.ts";
import type { IPAddress } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatInterfaceCIDR } from "../ipnet/prefix.ts";
import type { IpCommand, LinkInfo } from "../linux/ip.ts";
import { getLinkDetails, ipBatch, ipTry } from "../linux/ip.ts";
import { vtepAddress } from "./peer-routes.ts";

export { VXLAN_DEV, VXLAN_PORT, VXLAN_VNI } from "../cluster/vxlan-convention.ts";
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD_V4 = 50;
export const VXLAN_OVERHEAD_V6 = 70;

export interface VxlanSpec {
  readonly uplink: string;
  readonly local: IPAddress;
  readonly mac: string;
  readonly mtu: number;
  readonly blocks: readonly IPPrefix[];
}

interface VxlanInfo extends LinkInfo {
  readonly linkinfo?: LinkInfo["linkinfo"] & {
    readonly info_data?: { id?: number; local?: string; local6?: string; port?: number };
  };
}

function matches(link: VxlanInfo, spec: VxlanSpec): boolean {
  const data = link.linkinfo?.info_data;
  const local = data?.local ?? data?.local6;
  return (
    link.linkinfo?.info_kind === "vxlan" &&
    data?.id === VXLAN_VNI &&
    data?.port === VXLAN_PORT &&
    local === formatIP(spec.local) &&
    link.address === spec.mac
  );
}

/** Creates or repairs the device; recreates it when its local address (the node IP) changed. */
export function ensureVxlanDevice(spec: VxlanSpec): void {
  const link = getLinkDetails<VxlanInfo>(VXLAN_DEV);
  const cmds: IpCommand[] = [];
  if (link && !matches(link, spec)) ipTry(["link", "del", "dev", VXLAN_DEV]);
  if (!link || !matches(link, spec)) {
    cmds.push([
      "link",
      "add",
      "name",
      VXLAN_DEV,
      "address",
      spec.mac,
      "mtu",
      String(spec.mtu),
      "type",
      "vxlan",
      "id",
      String(VXLAN_VNI),
      "dstport",
      String(VXLAN_PORT),
      "local",
      formatIP(spec.local),
      "dev",
      spec.uplink,
      "nolearning",
    ]);
  } else if (link.mtu !== spec.mtu) {
    cmds.push(["link", "set", "dev", VXLAN_DEV, "mtu", String(spec.mtu)]);
  }
  for (const block of spec.blocks) {
    const vtep = vtepAddress(block);
    cmds.push([
      "addr",
      "replace",
      formatInterfaceCIDR(vtep, vtep.family === 4 ? 32 : 128),
      "dev",
      VXLAN_DEV,
      ...(vtep.family === 6 ? ["nodad"] : []),
    ]);
  }
  cmds.push(["link", "set", "dev", VXLAN_DEV, "up"]);
  ipBatch(cmds);
}

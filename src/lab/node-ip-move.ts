/**
 * What the node-IP-change claim does to a node (pure): which underlay address moves (the family
 * that carries the pod traffic), where to, and the `ip` commands that move it and put it back.
 * node-ip-change.ts runs them and probes.
 */
import { VXLAN_DEV } from "../cluster/vxlan-convention.ts";
import { addToIP, formatIP, tryParseIP } from "../ipnet/address.ts";
import { addressOf, type LabFamily } from "./lab-families.ts";

/**
 * The underlay addresses the sender's node sends to for a destination: the next hop of a direct
 * route, or, when the route goes into the VXLAN device, the destinations its FDB holds. From
 * `ip -j route get DST`, and `bridge -j fdb show dev podnet-vx`, read only for the device
 * (undefined when unreadable).
 */
export function underlayHops(routeJson: string, readFdb: () => string | undefined): string[] {
  const route = (JSON.parse(routeJson) as { gateway?: string; dev?: string }[])[0];
  if (route?.dev !== VXLAN_DEV) return route?.gateway ? [route.gateway] : [];
  const fdbJson = readFdb();
  if (fdbJson === undefined) return [];
  return (JSON.parse(fdbJson) as { dst?: string }[]).flatMap((f) => (f.dst ? [f.dst] : []));
}

/**
 * The family of the underlay that carries family f's pod traffic: that of the first hop (a dual
 * lab's VXLAN device tunnels IPv6 pods over IPv4); f when there is none.
 */
export function carrierFamily(hops: readonly string[], f: LabFamily): LabFamily {
  const hop = hops[0];
  return (hop !== undefined ? tryParseIP(hop)?.family : undefined) ?? f;
}

/** One move of a node's underlay address: addresses with prefix length. */
export interface AddressMove {
  readonly family: LabFamily;
  readonly original: string;
  readonly moved: string;
}

/**
 * The node's address of family `carrier` and where it moves: host number +40 (0x40 in IPv6,
 * whose host numbers are written as the IPv4 ones): .12 → .52, ::12 → ::52. Undefined when the
 * node has no address of that family.
 */
export function planAddressMove(addresses: readonly string[], carrier: LabFamily): AddressMove | undefined {
  const original = addresses.find((a) => addressOf([a], carrier) !== undefined);
  if (original === undefined) return undefined;
  const [ip, len] = original.split("/") as [string, string];
  const parsed = tryParseIP(ip);
  if (parsed === undefined) return undefined;
  const moved = `${formatIP(addToIP(parsed, carrier === 6 ? 0x40n : 40n))}/${len}`;
  return { family: carrier, original, moved };
}

/** An `ip` command; `mayFail` when its failure leaves nothing to undo (idempotent clean-up). */
export interface IpStep {
  readonly argv: readonly string[];
  readonly mayFail?: boolean;
}

const ipIn = (netns: string, f: LabFamily, ...args: string[]) => ["ip", "-n", netns, `-${f}`, ...args];
// nodad: a tentative IPv6 address is skipped as a source and refused by bind() for 1–2 s.
const nodad = (f: LabFamily) => (f === 6 ? ["nodad"] : []);

/**
 * Moves the address: the old one out first (removing a primary address also removes the
 * secondaries of its subnet), the new one in, and the default route, which left with the old
 * address, back via the router.
 */
export function moveSteps(netns: string, m: AddressMove, gateway: string): IpStep[] {
  return [
    { argv: ipIn(netns, m.family, "addr", "del", m.original, "dev", "eth0") },
    { argv: ipIn(netns, m.family, "addr", "add", m.moved, "dev", "eth0", ...nodad(m.family)) },
    { argv: ipIn(netns, m.family, "route", "replace", "default", "via", gateway) },
  ];
}

/**
 * Puts the original address back, whatever part of the move happened (none, some, or all): the
 * moved address out if it is there, the original in (`replace`: also when it is still there), the
 * default route back. Running it twice changes nothing.
 */
export function restoreSteps(netns: string, m: AddressMove, gateway: string): IpStep[] {
  return [
    { argv: ipIn(netns, m.family, "addr", "del", m.moved, "dev", "eth0"), mayFail: true },
    { argv: ipIn(netns, m.family, "addr", "replace", m.original, "dev", "eth0", ...nodad(m.family)) },
    { argv: ipIn(netns, m.family, "route", "replace", "default", "via", gateway) },
  ];
}

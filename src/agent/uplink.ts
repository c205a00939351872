/**
 * The node's uplink (underlay interface) as the kernel reports it: its addresses (the node IPs
 * announced to peers), the subnets it is directly connected to (for `auto`), and its MTU.
 */
import type { IPAddress } from "../ipnet/address.ts";
import { ipEquals, parseIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { prefixFromIP } from "../ipnet/prefix.ts";
import type { LinkAddrs, RouteInfo } from "../linux/ip.ts";
import { ipJson } from "../linux/ip.ts";

export interface UplinkState {
  readonly name: string;
  readonly mtu: number;
  /** Global addresses, IPv4 first. */
  readonly addresses: readonly IPAddress[];
  readonly connected: readonly IPPrefix[];
}

export class UplinkError extends Error {
  override readonly name = "UplinkError";
}

/** The interface of the default route (IPv4, else IPv6): the usual uplink when none is given. */
export function defaultRouteInterface(): string {
  for (const family of ["-4", "-6"]) {
    const [route] = ipJson<RouteInfo>([family, "route", "show", "default"]);
    if (route?.dev) return route.dev;
  }
  throw new UplinkError("Cannot find the uplink: no default route and no --uplink given");
}

export function readUplink(name: string): UplinkState {
  const [link] = ipJson<LinkAddrs>(["addr", "show", "dev", name]);
  if (!link) throw new UplinkError(`Uplink "${name}" does not exist`);
  const global = link.addr_info.filter((a) => a.scope === "global");
  const addresses = global.map((a) => parseIP(a.local)).sort((a, b) => a.family - b.family);
  const connected = global.map((a) => prefixFromIP(parseIP(a.local), a.prefixlen));
  return { name, mtu: link.mtu ?? 1500, addresses, connected };
}

/** Whether two lists hold the same addresses in the same order. */
export function sameAddresses(a: readonly IPAddress[], b: readonly IPAddress[]): boolean {
  return a.length === b.length && a.every((x, i) => ipEquals(x, b[i] as IPAddress));
}

/**
 * The routers of the map as things (pure): each router the operator named, with the segments whose
 * nodes use one of its addresses as their default gateway; every other gateway address a router of
 * its own, named by the address. And the outside hosts joined to the routers on their subnet.
 */
import { tryParseIP } from "../ipnet/address.ts";
import { containsIP, parsePrefix } from "../ipnet/prefix.ts";
import type { MapHost, MapRouter, MapSegment, NamedRouter } from "./map-types.ts";

/** `named` are checked (named-router.ts): canonical addresses, each held by one router. */
export function buildMapRouters(segments: readonly MapSegment[], named: readonly NamedRouter[]): MapRouter[] {
  const segmentsOf = (addresses: readonly string[]) =>
    segments.filter((s) => s.routers.some((gw) => addresses.includes(gw))).map((s) => s.cidr);
  const held = new Set(named.flatMap((r) => r.addresses));
  const routers: MapRouter[] = [...named]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r) => ({
      name: r.name,
      addresses: r.addresses,
      segments: segmentsOf(r.addresses),
      ...(r.note !== undefined ? { note: r.note } : {}),
    }));
  const unnamed = [...new Set(segments.flatMap((s) => s.routers))].filter((gw) => !held.has(gw)).sort();
  for (const gw of unnamed) routers.push({ name: gw, addresses: [gw], segments: segmentsOf([gw]) });
  return routers;
}

function subnetOf(cidr: string | undefined) {
  if (cidr === undefined) return undefined;
  try {
    return parsePrefix(cidr, { strict: false });
  } catch {
    return undefined;
  }
}

/** The hosts, each with the routers holding an address in its subnet (none known: left without). */
export function joinHosts(hosts: readonly MapHost[], routers: readonly MapRouter[]): MapHost[] {
  return hosts.map((h) => {
    const { routers: _given, ...host } = h;
    const subnet = subnetOf(h.cidr);
    if (subnet === undefined) return host;
    const on = routers
      .filter((r) =>
        r.addresses.some((a) => {
          const ip = tryParseIP(a);
          return ip !== undefined && containsIP(subnet, ip);
        }),
      )
      .map((r) => r.name);
    return on.length > 0 ? { ...host, routers: on } : host;
  });
}

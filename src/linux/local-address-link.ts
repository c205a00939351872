/**
 * A link whose only job is to hold a local address, in the current network namespace: an empty
 * bridge (no ports), up. NodeLocal DNSCache uses a dummy device for this, but kernels built
 * without CONFIG_DUMMY (this one) have none, and an empty bridge carries the address just as well:
 * the kernel adds the `local` route for it, and packets routed to the node reach it (FINDINGS §2).
 * IPv6 addresses are added without duplicate address detection, so they are usable at once.
 */
import { formatIP, type IPAddress } from "../ipnet/address.ts";
import { formatInterfaceCIDR } from "../ipnet/prefix.ts";
import { getLink, type IpCommand, ipBatch, ipJson, ipTry, type LinkAddrs } from "./ip.ts";

/**
 * Creates the link or repairs it (a link of another kind by that name is replaced; addresses
 * other than `address`, say a previous run's, are removed) and brings it up. Returns whether it
 * had to be created.
 */
export function ensureLocalAddressLink(name: string, address: IPAddress): boolean {
  let link = getLink(name, undefined, true);
  if (link !== undefined && link.linkinfo?.info_kind !== "bridge") {
    ipTry(["link", "del", "dev", name]);
    link = undefined;
  }
  const bits = address.family === 4 ? 32 : 128;
  const commands: IpCommand[] = [];
  if (link === undefined) commands.push(["link", "add", "name", name, "type", "bridge"]);
  commands.push([
    "addr",
    "replace",
    formatInterfaceCIDR(address, bits),
    "dev",
    name,
    ...(address.family === 6 ? ["nodad"] : []),
  ]);
  commands.push(["link", "set", "dev", name, "up"]);
  ipBatch(commands);
  const wanted = formatIP(address);
  const stale = (ipJson<LinkAddrs>(["addr", "show", "dev", name])[0]?.addr_info ?? []).filter(
    (a) => a.scope !== "link" && !(a.local === wanted && a.prefixlen === bits),
  );
  if (stale.length > 0) ipBatch(stale.map((a) => ["addr", "del", `${a.local}/${a.prefixlen}`, "dev", name]));
  return link === undefined;
}

/** Removes the link (and with it its addresses); false when there was none. */
export function deleteLocalAddressLink(name: string): boolean {
  return ipTry(["link", "del", "dev", name]);
}

/** The addresses the link holds ("ADDRESS/LENGTH"), or undefined when there is no such link. */
export function localAddressesOf(name: string): string[] | undefined {
  if (getLink(name) === undefined) return undefined;
  return (ipJson<LinkAddrs>(["addr", "show", "dev", name])[0]?.addr_info ?? [])
    .filter((a) => a.scope !== "link")
    .map((a) => `${a.local}/${a.prefixlen}`);
}

/**
 * Reading the proxy's `service-ips` verdict map as `nft list map` prints it (pure): an element
 * `10.96.0.10 . tcp . 80 : goto endpoints-tcp-3`, IPv6 compressed as RFC 5952 writes it, elements
 * separated by ", " and wrapped over lines.
 */
import { canonicalIP } from "../ipnet/address.ts";

/** The key of a ClusterIP port in the map: "fd00:10:96::b . tcp . 80". */
export function serviceMapKey(ip: string, proto: "tcp" | "udp", port: number): string {
  return `${canonicalIP(ip) ?? ip} . ${proto} . ${port}`;
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Whether the listing holds an element with exactly this key: bounded on both sides, so port 80
 * is not found in "… . 8080" nor 10.96.0.1 in "110.96.0.1 …".
 */
export function mapHoldsKey(listing: string, key: string): boolean {
  return new RegExp(`(?:^|[\\s{,])${escaped(key)}(?=[\\s:,}]|$)`, "m").test(listing);
}

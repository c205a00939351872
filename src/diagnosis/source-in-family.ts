/** Which of its addresses a trace source sends from (pure). */

import { canonicalIP } from "../ipnet/address.ts";
import type { ResolvedTarget } from "./target.ts";
import { familyOf } from "./trace-net.ts";

/**
 * The source as it sends to an address of `family`: a pod or a node sends from its own address of
 * that family (as the kernel picks one for the socket), so "node1-a → an IPv6 address" traces the
 * pod's IPv6 address although its name resolves to its IPv4 one. Unchanged when it has none.
 */
export function sourceInFamily(source: ResolvedTarget, family: 4 | 6): ResolvedTarget {
  if (familyOf(source.ip) === family) return source;
  const pick = (ips: readonly string[]) => ips.find((ip) => familyOf(ip) === family);
  switch (source.kind) {
    case "pod": {
      const ip = pick(source.pod.ips);
      return ip === undefined ? source : { ...source, ip: canonicalIP(ip) ?? ip };
    }
    case "node": {
      const ip = pick(source.node.nodeIPs);
      return ip === undefined ? source : { ...source, ip: canonicalIP(ip) ?? ip };
    }
    default:
      return source;
  }
}

/**
 * Kernel facts written the way iproute2 and conntrack print them, for evidence lines (pure):
 * "10.244.3.0/24 via 192.0.2.12 dev eth0 proto 200", "10.244.8.0 lladdr 62:f1:… PERMANENT",
 * "10.244.0.2:41796 → 10.102.49.235:80".
 */
import { canonicalIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { ConntrackTuple, FdbFact, NeighbourFact, RouteFact } from "../linux/kernel-facts.ts";

export function routeText(r: RouteFact): string {
  const parts = [r.type !== "unicast" ? `${r.type} ${r.dst}` : r.dst];
  if (r.via) parts.push(`via ${r.via}`);
  if (r.dev) parts.push(`dev ${r.dev}`);
  if (r.proto) parts.push(`proto ${r.proto}`);
  if (r.scope && r.scope !== "global") parts.push(`scope ${r.scope}`);
  if (r.src) parts.push(`src ${r.src}`);
  if (r.onlink) parts.push("onlink");
  return parts.join(" ");
}

export function neighbourText(n: NeighbourFact): string {
  return `${n.address} dev ${n.dev}${n.mac ? ` lladdr ${n.mac}` : ""} ${n.state.join(",")}`.trim();
}

export function fdbText(f: FdbFact): string {
  return `${f.mac} dev ${f.dev}${f.dst ? ` dst ${f.dst}` : ""}${f.flags.length ? ` ${f.flags.join(" ")}` : ""}`;
}

export function tupleText(t: ConntrackTuple): string {
  return `${hostPort(t.src, t.sport)} → ${hostPort(t.dst, t.dport)}`;
}

/** A route's destination in canonical form ("10.244.3.0/24"; a bare address gets /32 or /128). */
export function routeDst(dst: string): string {
  if (dst === "default") return dst;
  const [addr, len] = dst.split("/");
  const ip = canonicalIP(addr ?? "");
  if (ip === undefined) return dst;
  return `${ip}/${len ?? (ip.includes(":") ? "128" : "32")}`;
}

/** The address part of "10.244.3.1/24". */
export function addressOf(cidr: string): string {
  return canonicalIP(cidr.split("/")[0] ?? "") ?? cidr;
}

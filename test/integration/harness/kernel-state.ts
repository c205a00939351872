/**
 * Reading kernel state inside a test namespace with `ip -n NAME -j ...`: links, addresses, routes
 * as the kernel reports them, independent of what the plugin claims.
 */
import { mustRunSync } from "../../../src/linux/exec.ts";

export interface IpAddr {
  readonly family: "inet" | "inet6";
  readonly local: string;
  readonly prefixlen: number;
  readonly scope?: string;
}

export interface IpLink {
  readonly ifindex: number;
  readonly ifname: string;
  readonly address?: string;
  readonly mtu?: number;
  readonly flags?: readonly string[];
  readonly master?: string;
  readonly ifalias?: string;
  readonly addr_info?: readonly IpAddr[];
  readonly linkinfo?: {
    readonly info_kind?: string;
    readonly info_slave_kind?: string;
    readonly info_slave_data?: Record<string, unknown>;
  };
}

export interface IpRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly scope?: string;
  readonly prefsrc?: string;
}

export function ipJsonIn<T>(ns: string, args: readonly string[]): T[] {
  const r = mustRunSync(["ip", "-n", ns, "-j", ...args]);
  const text = r.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as T[]);
}

/** Every link of the namespace (with `-d`: bridge-port details such as hairpin). */
export function linksIn(ns: string, details = false): IpLink[] {
  return ipJsonIn<IpLink>(ns, [...(details ? ["-d"] : []), "link", "show"]);
}

export function linkIn(ns: string, name: string, details = false): IpLink | undefined {
  return linksIn(ns, details).find((l) => l.ifname === name);
}

/** Global (non link-local) addresses of `dev` as "ip/len", sorted. */
export function addrsIn(ns: string, dev: string): string[] {
  const [link] = ipJsonIn<IpLink>(ns, ["addr", "show", "dev", dev]);
  return (link?.addr_info ?? [])
    .filter((a) => a.scope === "global")
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

export function routesIn(ns: string, family: 4 | 6): IpRoute[] {
  return ipJsonIn<IpRoute>(ns, [`-${family}`, "route", "show", "table", "main"]);
}

/** Host veths podnet created in a namespace (named pn + 12 hex digits). */
export function podnetVeths(ns: string): IpLink[] {
  return linksIn(ns).filter((l) => /^pn[0-9a-f]{12}$/.test(l.ifname));
}

/**
 * The difference between the routes, neighbours and FDB entries podnet wants for its peers and
 * what the kernel has (pure). Routes podnet owns carry protocol ROUTE_PROTO, so a resync touches
 * nothing else; what is missing or wrong is replaced, what no peer needs any more is deleted.
 * A route is told apart by destination and metric: with `auto` under BGP the same block moves to
 * a backup metric (peer-routes.ts), which the kernel keeps as a second route beside the old one.
 * Blocks BIRD routes (kind "bgp") get nothing from podnet.
 */
import { formatIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { IpCommand } from "../linux/ip.ts";
import type { PeerRoute } from "./peer-routes.ts";

/** rtnetlink protocol number marking podnet's peer routes (`ip route show proto 200`). */
export const ROUTE_PROTO = "200";

export interface CurrentRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly flags?: readonly string[];
  /** Absent in `ip -j` output for IPv4 routes of metric 0. */
  readonly metric?: number;
}

export interface CurrentNeigh {
  readonly dst: string;
  readonly lladdr?: string;
  readonly state?: readonly string[];
}

export interface CurrentFdb {
  readonly mac: string;
  readonly dst?: string;
  readonly state?: string;
}

export interface KernelView {
  readonly routes: readonly CurrentRoute[];
  /** Neighbour entries on the VXLAN device. */
  readonly neighs: readonly CurrentNeigh[];
  /** FDB entries on the VXLAN device. */
  readonly fdb: readonly CurrentFdb[];
}

export interface SyncPlan {
  readonly ip: readonly IpCommand[];
  /** `bridge` command lines (FDB entries live there, not in `ip`). */
  readonly bridge: readonly IpCommand[];
}

function canonicalDst(dst: string): string {
  if (dst === "default") return dst;
  return formatPrefix(
    parsePrefix(dst.includes("/") ? dst : `${dst}/${dst.includes(":") ? 128 : 32}`, { strict: false }),
  );
}

const defaultMetric = (dst: string) => (dst.includes(":") ? 1024 : 0);
const routeKey = (dst: string, metric: number) => `${dst} metric ${metric}`;
/** `metric N` when it is not the family's default (so plain routes keep their plain commands). */
const metricArgs = (dst: string, metric: number) =>
  metric === defaultMetric(dst) ? [] : ["metric", String(metric)];

export function planRouteSync(
  desired: readonly PeerRoute[],
  current: KernelView,
  uplink: string | undefined,
  vxlanDev: string,
): SyncPlan {
  const ip: IpCommand[] = [];
  const bridge: IpCommand[] = [];
  const have = new Map(
    current.routes.map((r) => {
      const dst = canonicalDst(r.dst);
      return [routeKey(dst, r.metric ?? 0), { ...r, dst }];
    }),
  );
  const wanted = new Set<string>();
  const wantedNeigh = new Set<string>();
  const wantedFdbMacs = new Set<string>();

  for (const r of desired) {
    if (r.kind === "bgp") continue;
    const dst = formatPrefix(r.block);
    const metric = r.metric ?? defaultMetric(dst);
    const key = routeKey(dst, metric);
    wanted.add(key);
    const cur = have.get(key);
    if (r.kind === "direct") {
      const via = formatIP(r.via);
      if (
        !cur ||
        cur.gateway !== via ||
        (uplink !== undefined && cur.dev !== uplink) ||
        cur.flags?.includes("onlink")
      ) {
        ip.push([
          "route",
          "replace",
          dst,
          "via",
          via,
          ...(uplink ? ["dev", uplink] : []),
          ...metricArgs(dst, metric),
          "proto",
          ROUTE_PROTO,
        ]);
      }
      continue;
    }
    const vtep = formatIP(r.vtep);
    if (!cur || cur.gateway !== vtep || cur.dev !== vxlanDev || !cur.flags?.includes("onlink")) {
      ip.push([
        "route",
        "replace",
        dst,
        "via",
        vtep,
        "dev",
        vxlanDev,
        "onlink",
        ...metricArgs(dst, metric),
        "proto",
        ROUTE_PROTO,
      ]);
    }
    wantedNeigh.add(vtep);
    const neigh = current.neighs.find((n) => n.dst === vtep);
    if (!neigh || neigh.lladdr !== r.vtepMac || !neigh.state?.includes("PERMANENT")) {
      ip.push(["neigh", "replace", vtep, "lladdr", r.vtepMac, "dev", vxlanDev, "nud", "permanent"]);
    }
    const underlay = formatIP(r.underlay);
    wantedFdbMacs.add(r.vtepMac);
    if (!current.fdb.some((f) => f.mac === r.vtepMac && f.dst === underlay)) {
      bridge.push(["fdb", "replace", r.vtepMac, "dev", vxlanDev, "dst", underlay, "self", "permanent"]);
    }
  }

  for (const [key, r] of have) {
    if (!wanted.has(key))
      ip.push(["route", "del", r.dst, ...metricArgs(r.dst, r.metric ?? 0), "proto", ROUTE_PROTO]);
  }
  for (const n of current.neighs) {
    if (!wantedNeigh.has(n.dst) && n.state?.includes("PERMANENT"))
      ip.push(["neigh", "del", n.dst, "dev", vxlanDev]);
  }
  for (const f of current.fdb) {
    // Only permanent entries with a remote are ours; a MAC still wanted was just replaced above
    // (a peer whose node IP changed), so deleting by its old remote could race that.
    if (f.dst !== undefined && f.state === "permanent" && !wantedFdbMacs.has(f.mac)) {
      bridge.push(["fdb", "del", f.mac, "dev", vxlanDev, "dst", f.dst, "self"]);
    }
  }
  return { ip, bridge };
}

/** Brings the kernel's peer routes, neighbours and FDB entries in line with the peers' records. */
import { bridgeBatch, fdbOf } from "../linux/bridge-cmd.ts";
import type { RouteInfo } from "../linux/ip.ts";
import { getLink, ipBatch, ipJson } from "../linux/ip.ts";
import type { PeerRoute } from "./peer-routes.ts";
import type { CurrentNeigh, KernelView } from "./route-diff.ts";
import { planRouteSync, ROUTE_PROTO } from "./route-diff.ts";
import { VXLAN_DEV } from "./vxlan-device.ts";

export function readKernelView(): KernelView {
  const routes = ["-4", "-6"].flatMap((f) => ipJson<RouteInfo>([f, "route", "show", "proto", ROUTE_PROTO]));
  const hasVxlan = getLink(VXLAN_DEV) !== undefined;
  const neighs = hasVxlan ? ipJson<CurrentNeigh>(["neigh", "show", "dev", VXLAN_DEV]) : [];
  const fdb = hasVxlan ? fdbOf(VXLAN_DEV) : [];
  return { routes, neighs, fdb };
}

export interface SyncOutcome {
  /** Kernel changes made (0 when everything was already right). */
  readonly changes: number;
}

export function syncRoutes(desired: readonly PeerRoute[], uplink: string): SyncOutcome {
  const plan = planRouteSync(desired, readKernelView(), uplink, VXLAN_DEV);
  // FDB entries first: a route through the tunnel is only usable once its remote is known.
  bridgeBatch(plan.bridge);
  ipBatch(plan.ip);
  return { changes: plan.ip.length + plan.bridge.length };
}

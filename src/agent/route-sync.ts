/**
 * Brings the kernel's peer routes (of proto 200, by destination and metric), neighbours and FDB
 * entries in line with the peers' records. With a backend that does not tunnel (host-gw, bgp),
 * a VXLAN device an earlier backend left on the node is deleted first, and with it the routes,
 * neighbours and FDB entries through it (as flannel does when the backend changes).
 */
import { bridgeBatch, fdbOf } from "../linux/bridge-cmd.ts";
import type { IpCommand } from "../linux/ip.ts";
import { getLink, ipBatch, ipJson, ipTry } from "../linux/ip.ts";
import type { PeerRoute } from "./peer-routes.ts";
import type { CurrentNeigh, CurrentRoute, KernelView } from "./route-diff.ts";
import { planRouteSync, ROUTE_PROTO } from "./route-diff.ts";
import { VXLAN_DEV } from "./vxlan-device.ts";

export function readKernelView(): KernelView {
  const routes = ["-4", "-6"].flatMap((f) =>
    ipJson<CurrentRoute>([f, "route", "show", "proto", ROUTE_PROTO]),
  );
  const hasVxlan = getLink(VXLAN_DEV) !== undefined;
  const neighs = hasVxlan ? ipJson<CurrentNeigh>(["neigh", "show", "dev", VXLAN_DEV]) : [];
  const fdb = hasVxlan ? fdbOf(VXLAN_DEV) : [];
  return { routes, neighs, fdb };
}

export interface SyncOutcome {
  /** Kernel changes made (0 when everything was already right). */
  readonly changes: number;
  /** Changes the kernel refused, each with its reason; the others were still applied. */
  readonly failures: readonly string[];
  /** A VXLAN device the backend does not use was found and deleted. */
  readonly removedVxlan: boolean;
}

/** Deletes the VXLAN device when the backend does not use it; true when there was one. */
function removeUnusedVxlan(vxlan: boolean): boolean {
  if (vxlan) return false;
  // Only podnet's VXLAN device: a link of another kind with that name is not ours to delete.
  if (getLink(VXLAN_DEV, undefined, true)?.linkinfo?.info_kind !== "vxlan") return false;
  // Gone meanwhile is fine (false: nothing deleted); another failure throws (IpBatchError names
  // the command) and the sync is retried.
  return ipTry(["link", "del", "dev", VXLAN_DEV]);
}

/**
 * Applies the commands in one go when that works; when it does not, one by one, so a single
 * change the kernel refuses (a peer with an unusable address) cannot hold back every other peer.
 */
function applyEach(
  commands: readonly IpCommand[],
  run: (cmds: readonly IpCommand[]) => void,
  tool: string,
): string[] {
  if (commands.length === 0) return [];
  try {
    run(commands);
    return [];
  } catch {
    const failures: string[] = [];
    for (const cmd of commands) {
      try {
        run([cmd]);
      } catch (e) {
        failures.push(`${tool} ${cmd.join(" ")}: ${(e as Error).message}`);
      }
    }
    return failures;
  }
}

export function syncRoutes(desired: readonly PeerRoute[], uplink: string, vxlan: boolean): SyncOutcome {
  const removedVxlan = removeUnusedVxlan(vxlan);
  const plan = planRouteSync(desired, readKernelView(), uplink, VXLAN_DEV);
  // FDB entries first: a route through the tunnel is only usable once its remote is known.
  const failures = [
    ...applyEach(plan.bridge, bridgeBatch, "bridge"),
    ...applyEach(plan.ip, (c) => ipBatch(c), "ip"),
  ];
  const changes = plan.ip.length + plan.bridge.length - failures.length + (removedVxlan ? 1 : 0);
  return { changes, failures, removedVxlan };
}

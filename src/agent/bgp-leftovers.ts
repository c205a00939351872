/**
 * What a bgp (or auto) agent can leave on its node for an agent that runs no BIRD — the node
 * switched away from BGP (host-gw, vxlan), or no peer selects it any more (bgp, auto):
 * - a BIRD still running on the node's control socket (its agent was killed with SIGKILL): it
 *   keeps announcing the node's blocks and installing its peers'. It is shut down (`down`: its
 *   peers withdraw the node's blocks and it removes its kernel routes).
 * - BIRD's kernel routes to cluster blocks (`proto bird`) after a stop with graceful restart,
 *   which leaves them for the next BIRD (`-R`) to take over. None comes: they are deleted. With
 *   IPv6, BIRD's metric 32 would otherwise win over podnet's own routes (metric 1024).
 * Routes of other protocols, and BIRD routes outside the cluster's ranges, are left alone.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { formatPrefix, type IPPrefix } from "../ipnet/prefix.ts";
import type { IpCommand } from "../linux/ip.ts";
import { ipJson, ipTry } from "../linux/ip.ts";
import { retireStaleBird } from "./stale-bird.ts";

export interface BgpLeftovers {
  /** A BIRD answered on the control socket and was shut down. */
  readonly retiredBird: boolean;
  /** The BIRD routes to cluster blocks deleted. */
  readonly deletedRoutes: readonly string[];
}

/**
 * Shuts down a BIRD left on `stateDir`'s control socket, then (when a BIRD of podnet's ran here:
 * its config is in `stateDir`) deletes BIRD's kernel routes to the cluster's blocks and that
 * config, so the routes of a BIRD that is not podnet's are never taken for its leftovers.
 */
export async function clearBgpLeftovers(
  stateDir: string,
  clusterCidrs: readonly IPPrefix[],
): Promise<BgpLeftovers> {
  const retiredBird = await retireStaleBird(join(stateDir, "bird.ctl"), false);
  if (!existsSync(join(stateDir, "bird.conf"))) return { retiredBird, deletedRoutes: [] };
  const routes = clusterCidrs.flatMap((cidr) =>
    ipJson<{ dst: string; metric?: number }>([
      cidr.family === 4 ? "-4" : "-6",
      "route",
      "show",
      "root",
      formatPrefix(cidr),
      "proto",
      "bird",
    ]),
  );
  const deleted: string[] = [];
  for (const r of routes) {
    const del: IpCommand = [
      "route",
      "del",
      r.dst,
      "proto",
      "bird",
      ...(r.metric === undefined ? [] : ["metric", String(r.metric)]),
    ];
    // BIRD's own shutdown may have removed it meanwhile: gone is fine, and not counted.
    if (ipTry(del)) deleted.push(r.dst);
  }
  // Cleared once: a later start must not take another BIRD's routes (an operator's, another
  // CNI's; same protocol number) for podnet's. The config may hold the MD5 password, too.
  rmSync(join(stateDir, "bird.conf"), { force: true });
  return { retiredBird, deletedRoutes: deleted };
}

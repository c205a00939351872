/** `podnet lab status`: one row per pod, read from the kernel; the router's BGP sessions, from its BIRD. */

import { sameIP } from "../ipnet/address.ts";
import { type BgpSessionFact, parseBgpProtocols } from "../linux/bird-status-parse.ts";
import { labRouterCommand } from "./lab-router.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { nodeAddresses } from "./lab-state.ts";
import { inspectPodInterface } from "./pod-inspect.ts";

export interface StatusRow {
  readonly node: string;
  readonly pod: string;
  readonly ip: string;
  readonly mac: string;
  readonly iface: string;
  readonly netns: string;
}

export function labStatusRows(state: LabState): StatusRow[] {
  return state.pods.map((p) => {
    const itf = inspectPodInterface(p.netns, p.ifname);
    return {
      node: p.node,
      pod: p.name,
      ip: itf ? [...itf.ipv4, ...itf.ipv6].join(",") || "-" : "(missing)",
      mac: itf?.mac ?? "-",
      iface: p.ifname,
      netns: p.netns,
    };
  });
}

/** One BGP session of the lab router's BIRD, with the node on its other end. */
export interface RouterSessionRow {
  readonly protocol: string;
  readonly node: string;
  readonly neighbor: string;
  readonly state: string;
  readonly since: string;
  /** Routes received (imported) and sent (exported) per family, e.g. "ipv4 1/2". */
  readonly routes: string;
}

/**
 * The router's sessions (pure, from `show protocols all`): the dynamic ones BIRD spawned per node
 * (the listeners on whole segments are left out), each named by the node whose address it is.
 */
export function routerSessionRows(
  facts: readonly BgpSessionFact[],
  nodes: readonly Pick<LabNode, "name" | "address" | "addresses">[],
): RouterSessionRow[] {
  return facts
    .filter((f) => f.neighbor !== undefined && !f.neighbor.includes("/"))
    .map((f) => {
      const neighbor = f.neighbor as string;
      const node = nodes.find((n) =>
        nodeAddresses(n).some((a) => sameIP(a.split("/")[0] as string, neighbor)),
      );
      return {
        protocol: f.protocol,
        node: node?.name ?? "?",
        neighbor,
        state: f.bgpState,
        since: f.since,
        routes: f.routes.map((r) => `${r.family} ${r.imported}/${r.exported}`).join(", ") || "-",
      };
    });
}

/** The router's sessions as BIRD reports them now (the lab has a router BIRD). */
export async function labRouterSessions(state: LabState): Promise<RouterSessionRow[]> {
  return routerSessionRows(
    parseBgpProtocols(await labRouterCommand(state.dir, "show protocols all")),
    state.nodes,
  );
}

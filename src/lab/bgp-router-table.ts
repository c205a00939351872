/**
 * The lab router's kernel table as the BGP claims read it: its routes per family, whether it
 * holds blocks (via a node's address), and the wait for every node's block (lab up).
 */
import { pollUntil } from "../base/poll-until.ts";
import { sameIP, tryParseIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import { runSync } from "../linux/exec.ts";
import type { KernelRoute } from "./bgp-claims.ts";
import { type LabFamily, labFamilies } from "./lab-families.ts";
import type { LabState } from "./lab-state.ts";

const bare = (cidr: string): string => cidr.split("/")[0] as string;
const familyOfPrefix = (cidr: string): LabFamily | undefined => tryParseIP(bare(cidr))?.family;

function sameBlock(text: string, canonical: string): boolean {
  try {
    return formatPrefix(parsePrefix(text)) === canonical;
  } catch {
    return false;
  }
}

/** Every route of family f in the router's kernel (main table). */
export function routerKernelRoutes(state: LabState, f: LabFamily): KernelRoute[] {
  const netns = state.router?.netns;
  if (!netns) throw new Error("the lab's router runs no BIRD (not a bgp lab)");
  const r = runSync(["ip", "-n", netns, "-j", `-${f}`, "route", "show"]);
  if (r.code !== 0) throw new Error(`ip route show in the router failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout || "[]") as KernelRoute[];
}

/** Whether every one of `blocks` is a proto bird route in the router's kernel (via `via`, when given). */
export function routerHas(state: LabState, blocks: readonly string[], via?: string): boolean {
  const byFamily = new Map<LabFamily, KernelRoute[]>();
  return blocks.every((block) => {
    const f = familyOfPrefix(block) ?? 4;
    if (!byFamily.has(f)) byFamily.set(f, routerKernelRoutes(state, f));
    const want = formatPrefix(parsePrefix(block));
    return (byFamily.get(f) ?? []).some((r) => {
      if (r.protocol !== "bird" || !sameBlock(r.dst, want)) return false;
      const gateways = r.nexthops ? r.nexthops.flatMap((h) => h.gateway ?? []) : r.gateway ? [r.gateway] : [];
      return via === undefined || gateways.some((g) => sameIP(g, via));
    });
  });
}

/**
 * Waits until the router holds every node's blocks (lab up: the lab is ready when BGP has
 * converged); returns how long it took. Throws, naming what is missing, after `timeoutMs`.
 */
export async function waitRouterConverged(state: LabState, timeoutMs = 30_000): Promise<number> {
  const blocks = state.nodes.flatMap((n) => n.podCidrs);
  const { ms } = await pollUntil(
    "every node's block in the lab router's table",
    () => routerHas(state, blocks),
    timeoutMs,
    {
      intervalMs: 50,
      detail: () =>
        `router routes: ${JSON.stringify(labFamilies(state).flatMap((f) => routerKernelRoutes(state, f)))}`,
    },
  );
  return ms;
}

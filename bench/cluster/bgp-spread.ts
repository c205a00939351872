/**
 * One BGP event seen by every kernel (pure): a node's block arriving or leaving, as the router's
 * and the other nodes' `ip -ts monitor route` stamped it, in ms from the cause (the agent's
 * spawn, its SIGTERM, its link cut).
 */

export interface BgpSpread {
  readonly round: number;
  /** The router's kernel: null when it never saw the event within the deadline. */
  readonly routerMs: number | null;
  /** Every other node's kernel, sorted; the ones that never saw it are in `missing`. */
  readonly nodesMs: readonly number[];
  readonly missing: readonly string[];
  /** When the router and every node had seen it: null when one is missing. */
  readonly allMs: number | null;
}

export interface SeenAt {
  readonly where: string;
  /** Wall-clock ms of the kernel's notification; undefined: not seen. */
  readonly atMs: number | undefined;
}

export function spreadOf(
  round: number,
  originMs: number,
  router: SeenAt,
  nodes: readonly SeenAt[],
): BgpSpread {
  const since = (s: SeenAt) => (s.atMs === undefined ? null : s.atMs - originMs);
  const routerMs = since(router);
  const missing = [router, ...nodes].filter((s) => s.atMs === undefined).map((s) => s.where);
  const nodesMs = nodes
    .flatMap((s) => (s.atMs === undefined ? [] : [s.atMs - originMs]))
    .sort((a, b) => a - b);
  const all = routerMs === null ? [] : [routerMs, ...nodesMs];
  return {
    round,
    routerMs,
    nodesMs,
    missing,
    allMs: missing.length === 0 && all.length > 0 ? Math.max(...all) : null,
  };
}

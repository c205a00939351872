import { describe, expect, test } from "bun:test";
import type { BgpConvergenceRun } from "./bgp-convergence.ts";
import { spreadOf } from "./bgp-spread.ts";
import type { BgpPathKey, BgpThroughputRun } from "./bgp-throughput.ts";
import { BGP_PATHS } from "./bgp-throughput.ts";
import type { RawResults } from "./report.ts";
import { buildReport } from "./report.ts";
import { pathsRunOf, RUN_FRAME } from "./report-fixtures.ts";
import { renderTable } from "./table.ts";

const seen = (where: string, atMs: number | undefined) => ({ where, atMs });

function convergence(startsMs: number[][], missingIn: number | null = null): BgpConvergenceRun {
  const starts = startsMs.map(([router, ...nodes], i) =>
    spreadOf(
      Math.floor(i / 2),
      1000,
      seen("router", (router as number) + 1000),
      nodes.map((n, j) => seen(`n${j}`, i === missingIn && j === 0 ? undefined : n + 1000)),
    ),
  );
  const gone = (ms: number) => spreadOf(0, 0, seen("router", ms), [seen("n0", ms + 2), seen("n1", ms + 1)]);
  return {
    nodes: 3,
    holdTimeSeconds: 9,
    keepaliveSeconds: 3,
    bootSeconds: 2.5,
    meshSeconds: 0.4,
    joiner: { node: "node3", segment: "lan1", block: "10.244.7.0/24" },
    starts,
    joinerTimelines: starts.map((_, i) => ({
      firstLogMs: 400 + i,
      blocksLeasedMs: 450,
      birdStartedMs: 900,
      readyMs: i === 0 ? null : 1000,
    })),
    cleanStops: [gone(5)],
    deaths: [gone(7500)],
    exampleRoute: "10.244.7.0/24 via 192.0.2.1 dev eth0 proto bird metric 32",
    logProblems: [],
  };
}

function throughput(gbps: Record<BgpPathKey, number[]>): BgpThroughputRun {
  return pathsRunOf(
    BGP_PATHS,
    gbps,
    { raw: 1500, static: 1500, bgp: 1500, vxlan: 1450 },
    { retransmits: 2, seconds: 5, cpuClientPercent: 50, cpuServerPercent: 40 },
  );
}

function raw(bgp: RawResults["bgp"]): RawResults {
  return {
    ...RUN_FRAME,
    requested: { parts: ["bgp"], leaseAgents: 100, leaseRounds: 3, nodes: 50, backends: [], bgpNodes: 3 },
    convergence: [],
    ...(bgp ? { bgp } : {}),
    failures: [],
  };
}

const figures = {
  convergence: convergence([
    [900, 950, 1200],
    [1500, 1510, 1490],
  ]),
  throughput: throughput({ raw: [10, 8], static: [9, 7.2], bgp: [9, 7.2], vxlan: [6, 4.8] }),
};

describe("the bgp part of the report", () => {
  test("start and withdrawal spreads: the router's and everyone's p50/max over the samples", () => {
    const c = buildReport(raw(figures)).bgp?.convergence;
    expect(c?.start.samples).toBe(2);
    expect(c?.start.routerMs).toMatchObject({ p50: 900, max: 1500 });
    expect(c?.start.allMs).toMatchObject({ p50: 1200, max: 1510 });
    expect(c?.start.perSample.map((s) => s.allMs)).toEqual([1200, 1510]);
    expect(c?.cleanStop.allMs?.max).toBe(7);
    expect(c?.death.allMs?.max).toBe(7502);
    // A milestone missing from one start's log is left out of its median.
    expect(c?.joinerP50Ms).toEqual({
      firstLogMs: 400,
      blocksLeasedMs: 450,
      birdStartedMs: 900,
      readyMs: 1000,
    });
  });

  test("throughput ratios: each path over raw routed, bgp over static routes, per round", () => {
    const t = buildReport(raw(figures)).bgp?.throughput;
    expect(t?.ratio).toEqual({ static: 0.9, bgp: 0.9, vxlan: 0.6 });
    expect(t?.bgpOverStatic).toBe(1);
    expect(t?.roundRatios.bgp).toEqual([0.9, 0.9]);
    expect(t?.paths.vxlan?.mtu).toBe(1450);
  });

  test("targets: the slowest start against 2000 ms and bgp / raw routed against 0.95", () => {
    const met = buildReport(
      raw({ ...figures, throughput: throughput({ raw: [10], static: [9.6], bgp: [9.5], vxlan: [6] }) }),
    ).targets;
    expect(met.map((t) => [t.value, t.met])).toEqual([
      [1510, true],
      [0.95, true],
    ]);
    const slow = convergence([[900, 2001, 100]]);
    const missed = buildReport(raw({ convergence: slow, throughput: figures.throughput })).targets;
    expect(missed.map((t) => [t.value, t.met])).toEqual([
      [2001, false],
      [0.9, false],
    ]);
  });

  test("a start some kernel never saw, or a part that failed, misses its target", () => {
    const lost = convergence([[900, 950, 1000]], 0);
    const r = buildReport(raw({ convergence: lost }));
    expect(r.bgp?.convergence?.start.missing).toEqual(["round 1: n0"]);
    expect(r.targets.map((t) => t.met)).toEqual([false, false]);
    const failed = buildReport(raw(undefined));
    expect(failed.bgp).toEqual({ convergence: null, throughput: null });
    expect(failed.targets.map((t) => [t.value, t.met])).toEqual([
      [null, false],
      [null, false],
    ]);
  });

  test("the table shows the spreads with the hold time, and the ratios", () => {
    const text = renderTable(buildReport(raw(figures)));
    expect(text).toContain("hold 9 s, keepalive 3 s");
    expect(text).toMatch(
      /start → its block routed \(convergence\)\s+2\s+900 \/ 1500\s+1200 \/ 1510\s+1200, 1510/,
    );
    expect(text).toMatch(/link cut \+ SIGKILL → withdrawn \(hold 9 s\)\s+1/);
    expect(text).toMatch(/bgp\s+8\.10\s+7\.20\s+9\.00\s+1500\s+4\s+50\/40\s+0\.90/);
    expect(text).toContain("bgp / static routes: 1.00");
    expect(text).not.toContain("Convergence:");
  });

  test("no bgp section when the part was not asked for", () => {
    const r = buildReport({ ...raw(figures), requested: { ...raw(figures).requested, parts: ["leases"] } });
    expect(r.bgp).toBeNull();
    expect(renderTable(r)).not.toContain("BGP:");
  });
});

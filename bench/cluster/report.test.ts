import { describe, expect, test } from "bun:test";
import type { Backend } from "../../src/cluster/node-record.ts";
import { mulberry32 } from "../../testkit/seeded-random.ts";
import type { LeaseRound } from "./block-leases-bench.ts";
import type { ConvergenceRun } from "./convergence.ts";
import type { PathKey, ThroughputRun } from "./pod-throughput.ts";
import { PATHS } from "./pod-throughput.ts";
import type { RawResults } from "./report.ts";
import { buildReport } from "./report.ts";
import { pathsRunOf, RUN_FRAME } from "./report-fixtures.ts";
import { renderTable } from "./table.ts";
import { TARGETS } from "./targets.ts";

function leaseRound(agents: number, seconds: number, distinct = agents): LeaseRound {
  const claims = Array.from({ length: agents }, (_, i) => ({
    node: `n${i}`,
    block: `10.244.${i % distinct}.0/24`,
    grantMs: 10,
    claimMs: i + 1,
    conflicts: i % 3,
  }));
  const ok = distinct === agents;
  return {
    seconds,
    connectMs: [1, 2, 3],
    claims,
    verification: {
      ok,
      claims: agents,
      distinctBlocks: distinct,
      keysInStore: distinct,
      nodesInStore: distinct,
      problems: ok ? [] : [`${agents - distinct} block(s) handed out twice`],
    },
  };
}

const snapshot = (syncs: number, syncSeconds: number, cpuSeconds: number) => ({
  syncs,
  syncSeconds,
  errors: 0,
  cpuSeconds,
  agents: 49,
});

function convergence(
  backend: Backend,
  arrivals: number[],
  rssKiB: number,
  missing: string[] = [],
): ConvergenceRun {
  return {
    backend,
    nodes: 50,
    bootSeconds: 7.3,
    meshSeconds: 0.6,
    idle: { ...snapshot(10, 1, 0.6), seconds: 3 },
    joiner: {
      node: "node50",
      block: "10.244.51.0/24",
      timeline: { firstLogMs: 50, blocksLeasedMs: 58, conflistWrittenMs: 59, readyMs: 106 },
      readyMs: 110,
    },
    arrivalsMs: arrivals,
    missing,
    convergenceMs: missing.length === 0 ? (arrivals[arrivals.length - 1] ?? null) : null,
    exampleRoute: "10.244.51.0/24 via 192.0.2.60 dev eth0 proto 200",
    memory: {
      joiner: { rssKiB, peakRssKiB: rssKiB + 1024 },
      all: [
        { rssKiB: rssKiB - 1024, peakRssKiB: rssKiB },
        { rssKiB, peakRssKiB: rssKiB + 1024 },
      ],
    },
    join: { peers: snapshot(49, 9.8, 0.7), joiner: snapshot(2, 0.1, 0.08) },
    logProblems: [],
  };
}

function throughput(gbps: Record<PathKey, number[]>): ThroughputRun {
  return pathsRunOf(
    PATHS,
    gbps,
    { raw: 1500, "host-gw": 1500, vxlan: 1450 },
    { retransmits: 1, seconds: 5, cpuClientPercent: 80, cpuServerPercent: null },
  );
}

function raw(overrides: Partial<RawResults> = {}): RawResults {
  return {
    ...RUN_FRAME,
    requested: {
      parts: ["leases", "convergence", "throughput"],
      leaseAgents: 100,
      leaseRounds: 2,
      nodes: 50,
      backends: ["host-gw", "vxlan"],
      bgpNodes: 10,
    },
    leases: { agents: 100, etcdMembers: 3, rounds: [leaseRound(100, 0.5), leaseRound(100, 0.25)] },
    convergence: [
      convergence("host-gw", [70, 200, 311], 70 * 1024),
      convergence("vxlan", [240, 400, 491], 71 * 1024),
    ],
    throughput: throughput({ raw: [20, 10], "host-gw": [18, 9], vxlan: [15, 7.5] }),
    failures: [],
    ...overrides,
  };
}

describe("buildReport", () => {
  test("lease figures are over every round: blocks/s, claim percentiles, lost races", () => {
    const r = buildReport(raw());
    expect(r.leases?.blocksPerSecond).toBeCloseTo(200 / 0.75, 3);
    expect(r.leases?.claimMs.p50).toBe(50);
    expect(r.leases?.claimMs.p99).toBe(99);
    expect(r.leases?.perRound.map((x) => x.blocksPerSecond)).toEqual([200, 400]);
    expect(r.leases?.lostRaces.maxPerClaim).toBe(2);
    expect(r.leases?.allVerified).toBe(true);
    expect(r.targets[0]).toMatchObject({ value: 100, met: true });
  });

  test("convergence: join costs per sync, idle CPU as a share of one core", () => {
    const c = buildReport(raw()).convergence[0];
    expect(c?.join.peers.meanSyncMs).toBe(200);
    expect(c?.join.peers.cpuMsPerSync).toBeCloseTo(14.286, 3);
    expect(c?.idle.cpuPercent).toBe(20);
    expect(c?.idle).not.toHaveProperty("cpuMsPerSync");
    expect(c?.peerArrivalMs?.max).toBe(311);
    expect(c?.memory.rssMiB?.max).toBe(70);
  });

  test("a round that handed a block out twice fails the lease target", () => {
    const r = buildReport(
      raw({
        leases: { agents: 100, etcdMembers: 3, rounds: [leaseRound(100, 0.5), leaseRound(100, 0.5, 99)] },
      }),
    );
    expect(r.leases?.allVerified).toBe(false);
    expect(r.targets[0]).toMatchObject({ value: 99, met: false });
  });

  test("a lease part that did not complete its rounds does not meet the lease target", () => {
    const partial = { agents: 100, etcdMembers: 3, rounds: [leaseRound(100, 0.5)] };
    expect(buildReport(raw({ leases: partial })).targets[0]?.met).toBe(false);
    const none = buildReport(raw({ leases: { ...partial, rounds: [] } }));
    expect(none.leases).toBeNull();
    expect(none.targets[0]).toMatchObject({ value: null, met: false });
  });

  test("throughput ratios are mean podnet over mean raw, and per round", () => {
    const r = buildReport(raw());
    expect(r.throughput?.ratio).toEqual({ hostGw: 0.9, vxlan: 0.75 });
    expect(r.throughput?.roundRatios).toEqual({ hostGw: [0.9, 0.9], vxlan: [0.75, 0.75] });
    expect(r.throughput?.paths.vxlan?.mtu).toBe(1450);
    expect(r.throughput?.paths.raw?.cpuServerPercent).toBeNull();
  });

  test("targets are judged at their bounds", () => {
    const met = buildReport(raw()).targets;
    expect(met.map((t) => t.met)).toEqual([true, true, true, true, true, true]);
    const missed = buildReport(
      raw({
        convergence: [
          convergence("host-gw", [70, 2001], 70 * 1024),
          convergence("vxlan", [240, 400], Math.ceil(TARGETS.agentRssMiB.max * 1024) + 1),
        ],
        // 0.8995 and 0.7495: printed as 0.90 and 0.75 (rounded), judged unrounded.
        throughput: throughput({ raw: [20], "host-gw": [17.99], vxlan: [14.99] }),
      }),
    ).targets;
    expect(missed.map((t) => [t.name, t.met])).toEqual([
      ["distinct blocks from 100 concurrent claims, worst round", true],
      ["convergence, 50 nodes, host-gw, ms", false],
      ["convergence, 50 nodes, vxlan, ms", true],
      ["agent RSS with 49 peers, largest, MiB", false],
      ["pod-to-pod TCP, host-gw / raw", false],
      ["pod-to-pod TCP, vxlan / raw", false],
    ]);
  });

  test("a peer that never got the route means no convergence figure, and the target is not met", () => {
    const r = buildReport(
      raw({ convergence: [convergence("vxlan", [100, 200], 70 * 1024, ["pbcx-vx-node7"])] }),
    );
    expect(r.convergence[0]?.convergenceMs).toBeNull();
    expect(r.targets.find((t) => t.name.includes("vxlan, ms"))?.met).toBe(false);
    expect(renderTable(r)).toContain("vxlan: NO ROUTE on pbcx-vx-node7");
  });

  test("the ratio does not depend on the order the samples were taken in (seeded shuffle)", () => {
    const rnd = mulberry32(7);
    const base = raw().throughput as ThroughputRun;
    for (let i = 0; i < 20; i++) {
      const shuffled = [...base.samples].sort(() => rnd() - 0.5);
      const r = buildReport(raw({ throughput: { ...base, samples: shuffled } }));
      expect(r.throughput?.ratio).toEqual({ hostGw: 0.9, vxlan: 0.75 });
    }
  });

  test("parts not measured leave their section and targets out", () => {
    const { leases: _l, throughput: _t, ...rest } = raw();
    const r = buildReport({ ...rest, convergence: [], requested: { ...rest.requested, parts: [] } });
    expect(r.leases).toBeNull();
    expect(r.throughput).toBeNull();
    expect(r.targets).toEqual([]);
    expect(renderTable(r)).not.toContain("Block leases");
  });

  test("parts asked for that failed keep their targets, unmet and without a value", () => {
    const { throughput: _t, ...rest } = raw();
    const r = buildReport({ ...rest, convergence: [convergence("host-gw", [70, 311], 70 * 1024)] });
    expect(r.targets.map((t) => [t.name, t.value, t.met])).toEqual([
      ["distinct blocks from 100 concurrent claims, worst round", 100, true],
      ["convergence, 50 nodes, host-gw, ms", 311, true],
      ["convergence, 50 nodes, vxlan, ms", null, false],
      ["agent RSS with 49 peers, largest, MiB", 70, true],
      ["pod-to-pod TCP, host-gw / raw", null, false],
      ["pod-to-pod TCP, vxlan / raw", null, false],
    ]);
  });
});

describe("renderTable", () => {
  test("shows the figures, the ratios and the targets", () => {
    const text = renderTable(buildReport(raw()));
    expect(text).toMatch(/claimBlocks, ms\s+50\.0\s+99\.0\s+100\.0/);
    expect(text).toMatch(/every other node routes to its block\s+311\s+491/);
    expect(text).toMatch(/host-gw\s+13\.50\s+9\.00\s+18\.00\s+1500\s+2\s+80\/n\/a\s+0\.90/);
    expect(text).toMatch(/convergence, 50 nodes, vxlan, ms\s+491\s+≤ 2000 ms\s+met/);
    expect(text).toMatch(/pod-to-pod TCP, vxlan \/ raw\s+0\.75\s+≥ 0\.75\s+met/);
    expect(text).toContain("Failures: none");
    expect(text).toContain("load average 0.25 at the start, 1.50 at the end");
  });

  test("a binary rebuilt during the run is called out", () => {
    const r = raw();
    expect(renderTable(buildReport(r))).not.toContain("REBUILT");
    const text = renderTable(buildReport({ ...r, podnet: { ...r.podnet, replacedDuringRun: true } }));
    expect(text).toContain("REBUILT DURING THE RUN");
  });

  test("failures are listed", () => {
    const text = renderTable(buildReport(raw({ failures: ["iperf3 vxlan round 1: boom"] })));
    expect(text).toContain("Failures: 1");
    expect(text).toContain("iperf3 vxlan round 1: boom");
  });
});

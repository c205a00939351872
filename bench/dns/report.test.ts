import { describe, expect, test } from "bun:test";
import type { DnsperfSummary } from "./dnsperf-output.ts";
import { type LatencySamples, latencyRate, type MeasuredRun } from "./measure.ts";
import type { QueryKind } from "./query-mix.ts";
import { buildReport, type RawResults } from "./report.ts";
import type { Subject } from "./subjects.ts";

const summary = (qps: number, completed = 1000): DnsperfSummary => ({
  sent: completed,
  completed,
  lost: 0,
  rcodes: { NOERROR: completed },
  requestBytes: 47,
  responseBytes: 80,
  runSeconds: 10,
  queriesPerSecond: qps,
  avgLatencyMs: 1,
  minLatencyMs: 0.1,
  maxLatencyMs: 3,
  stddevLatencyMs: 0.2,
});
const run = (subject: Subject, round: number, qps: number): MeasuredRun => ({
  subject,
  round,
  summary: summary(qps),
  serverCpuSeconds: 0.5,
  wrongRcodes: 0,
});
const samples = (ms: number[]): LatencySamples => ({
  all: ms,
  byKind: { "service A": ms, SRV: [], PTR: [], "pod A": [], NXDOMAIN: [] } as Record<QueryKind, number[]>,
});
/** 100 latencies: 1..99 × `scale`, and a slowest of `tail`. */
const latencies = (scale: number, tail: number) => [
  ...Array.from({ length: 99 }, (_, i) => (i + 1) * scale),
  tail,
];

function raw(podnetQps: number[], dnsmasqQps: number[], podnetMs: number[], dnsmasqMs: number[]): RawResults {
  const capacity = podnetQps.flatMap((q, i) => [
    run("podnet", i + 1, q),
    run("dnsmasq", i + 1, dnsmasqQps[i] ?? 0),
  ]);
  return {
    startedAt: "2026-12-06T14:00:00.000Z",
    durationSeconds: 60,
    machine: {
      cpus: 2,
      kernel: "6.18",
      bun: "1.4.5",
      memoryGiB: 4,
      loadAverage: { start: 0, end: 1 },
      dnsperf: "dnsperf 2.10.0",
      dnsmasq: "Dnsmasq version 2.90",
    },
    podnet: {
      binary: "dist/podnet",
      version: "0.0.0",
      modified: "2026-12-06T13:00:00.000Z",
      replacedDuringRun: false,
    },
    options: {
      services: 10,
      endpointsPerService: 3,
      queries: 100,
      rounds: podnetQps.length,
      seconds: 10,
      warmupSeconds: 0,
      clients: 1,
      outstanding: 100,
      rate: null,
      seed: 1,
    },
    zone: { hostLines: 40, srvLines: 10 },
    answers: { compared: 100, differences: [], differenceCount: 0 },
    servers: {
      podnet: {
        startMs: 500,
        memoryAtStart: { rssMiB: 60, hwmMiB: 70 },
        memoryAtEnd: { rssMiB: 80, hwmMiB: 90 },
      },
      dnsmasq: {
        startMs: 100,
        memoryAtStart: { rssMiB: 8, hwmMiB: 8 },
        memoryAtEnd: { rssMiB: 10, hwmMiB: 10 },
      },
    },
    load: {
      capacity,
      rate: latencyRate(capacity),
      latency: [run("podnet", 1, 5000), run("dnsmasq", 1, 5000)],
      samples: { podnet: samples(podnetMs), dnsmasq: samples(dnsmasqMs) },
    },
    podnetCounters: { queries: 10, dropped: { "rate-limit": 0 } },
    agent: { measured: false, reason: "no DNS in this build" },
    failures: [],
  };
}

describe("the DNS benchmark's report", () => {
  test("capacity is the median run; the latency rate is half the lower capacity, two significant digits", () => {
    const r = buildReport(
      raw([30_000, 36_000, 33_000], [40_000, 41_000, 39_000], latencies(0.01, 5), latencies(0.01, 5)),
    );
    expect(r.subjects.podnet.queriesPerSecond).toBe(33_000);
    expect(r.subjects.dnsmasq.queriesPerSecond).toBe(40_000);
    expect(r.ratios.queriesPerSecond).toBe(0.825);
    expect(r.latencyRate).toBe(16_000);
    expect(latencyRate([run("podnet", 1, 15_000), run("dnsmasq", 1, 372)])).toBe(180);
    expect(latencyRate([run("podnet", 1, 1500), run("dnsmasq", 1, 9)])).toBe(4);
    expect(latencyRate([run("podnet", 1, 1500)])).toBeNull();
  });

  test("both targets met: capacity at least half, p99 at most twice dnsmasq's", () => {
    const r = buildReport(raw([21_000], [40_000], latencies(0.019, 9), latencies(0.01, 9)));
    expect(r.subjects.podnet.latencyMs?.p99).toBeCloseTo(1.881, 9);
    expect(r.ratios.latencyP99).toBe(1.9);
    expect(r.ratios.latencyP50).toBe(1.9);
    expect(r.targets.map((t) => [t.name, t.met])).toEqual([
      ["queries/s, podnet / dnsmasq", true],
      ["p99 latency at 10000 q/s, podnet / dnsmasq", true],
    ]);
    expect(r.ratios.rssAtEnd).toBe(8);
  });

  test("targets not met are reported, not thrown", () => {
    const r = buildReport(raw([19_000], [40_000], latencies(0.021, 9), latencies(0.01, 9)));
    expect(r.targets.map((t) => t.met)).toEqual([false, false]);
    expect(r.failures.count).toBe(0);
  });

  test("a server without runs has no figures and misses its targets", () => {
    const x = raw([30_000], [40_000], [], latencies(0.01, 9));
    const r = buildReport({
      ...x,
      load: x.load && { ...x.load, capacity: x.load.capacity.filter((c) => c.subject !== "podnet") },
    });
    expect(r.subjects.podnet.queriesPerSecond).toBeNull();
    expect(r.subjects.podnet.latencyMs).toBeNull();
    expect(r.targets.map((t) => [t.value, t.met])).toEqual([
      [null, false],
      [null, false],
    ]);
  });
});

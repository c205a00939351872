import { describe, expect, test } from "bun:test";
import { latencyRatio, loadRatio } from "./latency-report.ts";
import { buildReport, judgeTargets } from "./report.ts";
import { AGENT, latencyCase, MEMORY, OPTIONS, raw, syncRun } from "./report-fixtures.ts";
import { renderTable } from "./table.ts";

describe("latencyRatio", () => {
  test("large table over small table of the same subject", () => {
    const r = latencyRatio(raw().latency, "iptables", [100, 10_000]);
    expect(r?.small).toBe(100);
    expect(r?.large).toBe(10_000);
    // p50 of [0.3, 0.3, 0.5, 0.5] is 0.3 (nearest rank), p99 0.5.
    expect(r?.connectP50).toBeCloseTo(3, 9);
    expect(r?.connectP99).toBeCloseTo(5, 9);
    expect(r?.firstByteP50).toBeCloseTo(3, 9);
    expect(latencyRatio(raw().latency, "podnet", [100, 10_000])?.connectP50).toBeCloseTo(1.1, 9);
  });

  test("null when a size was not measured or had no successful connection", () => {
    expect(latencyRatio(raw().latency, "podnet", [100, 5000])).toBeNull();
    const empty = raw({ latency: [latencyCase("podnet", 100, [0.1]), latencyCase("podnet", 10_000, [])] });
    expect(latencyRatio(empty.latency, "podnet", [100, 10_000])).toBeNull();
  });
});

describe("loadRatio", () => {
  test("podnet's load over the iptables layout's at one size; null when one is missing", () => {
    expect(loadRatio(raw().latency, 10_000)).toBe(0.05);
    expect(loadRatio([latencyCase("podnet", 10_000, [0.1])], 10_000)).toBeNull();
    expect(loadRatio(raw().latency, 5000)).toBeNull();
  });

  test("podnet's replacement and nft -f figures over the same iptables load", () => {
    expect(loadRatio(raw().latency, 10_000, "replaceMs")).toBeCloseTo(0.06, 9);
    expect(loadRatio(raw().latency, 10_000, "nftFileMs")).toBeCloseTo(0.15, 9);
    // A podnet case without the figure (measured before the netlink path) has no ratio.
    const { replaceMs: _r, nftFileMs: _n, ...old } = latencyCase("podnet", 10_000, [0.1]);
    const cases = [old, latencyCase("iptables", 10_000, [0.1])];
    expect(loadRatio(cases, 10_000, "replaceMs")).toBeNull();
    expect(loadRatio(cases, 10_000, "nftFileMs")).toBeNull();
    expect(loadRatio(cases, 10_000)).toBe(0.05);
  });
});

describe("judgeTargets", () => {
  test("judges the largest size's medians and the podnet ratio", () => {
    const targets = judgeTargets(raw());
    expect(targets.map((t) => [t.name, t.value, t.met])).toEqual([
      ["full sync, 10000 Services, median ms", 1900, true],
      ["incremental sync, 10000 Services, median ms", 45, true],
      // p50 7 at 10,000 over p50 5 at 1,000 (nearest rank); nft -i is half of each.
      [
        "incremental through ProxyState (nft -f) total p50, 10000 / 1000 Services",
        expect.closeTo(1.4, 9),
        true,
      ],
      [
        "incremental through ProxyState (nft -i) total p50, 10000 / 1000 Services",
        expect.closeTo(1.4, 9),
        true,
      ],
      ["proxy RSS, 10000 Services, MiB", 150.4444, true],
      ["podnet connect p50, 10000 / 100 Services", expect.closeTo(1.1, 9), true],
      ["full load (as the agent syncs), podnet / iptables layout, 10000 Services", 0.05, true],
    ]);
  });

  test("the proxy's share of the agent: with the proxy minus without, resident and peak", () => {
    const targets = judgeTargets(
      raw({ options: { ...OPTIONS, parts: ["agent-memory"] }, agentMemory: AGENT }),
    );
    expect(targets.map((t) => [t.name, t.value, t.met])).toEqual([
      ["proxy's share of the agent, 10000 Services, resident MiB", expect.closeTo(100.25, 9), true],
      ["proxy's share of the agent, 10000 Services, peak MiB", expect.closeTo(160, 9), false],
    ]);
    const failed = raw({
      options: { ...OPTIONS, parts: ["agent-memory"] },
      agentMemory: { measured: false, reason: "no --proxy flag" },
    });
    expect(judgeTargets(failed).map((t) => [t.value, t.met])).toEqual([
      [null, false],
      [null, false],
    ]);
  });

  test("flatness compares the asked sizes only, and a session left out is not judged", () => {
    const noSession = { ...OPTIONS, nftSession: false, sizes: [1000, 5000, 10_000] };
    const partial = raw({
      options: noSession,
      sync: [syncRun(1000, [300], [10]), syncRun(5000, [900], [20])],
    });
    const names = judgeTargets(partial).map((t) => [t.name, t.value]);
    expect(names).toContainEqual([
      "incremental through ProxyState (nft -f) total p50, 10000 / 1000 Services",
      null,
    ]);
    expect(names.some(([n]) => String(n).includes("nft -i"))).toBe(false);
  });

  test("a value over its limit, or a part that produced nothing, is not met", () => {
    const slow = raw({
      sync: [
        syncRun(1000, [300], [10], [4, 4, 4, 4]),
        syncRun(10_000, [2100, 2200, 1900], [150, 120, 101, 130], [8, 8, 8, 8]),
      ],
      memory: { ...MEMORY, rssMiB: 191 },
      latency: [latencyCase("podnet", 100, [0.1]), latencyCase("podnet", 10_000, [0.13])],
    });
    expect(judgeTargets(slow).map((t) => t.met)).toEqual([false, false, false, false, false, false, false]);
    const nothing = raw({ sync: [], latency: [], memory: null });
    expect(judgeTargets(nothing).map((t) => [t.value, t.met])).toEqual([
      [null, false],
      [null, false],
      [null, false],
      [null, false],
      [null, false],
      [null, false],
      [null, false],
    ]);
  });

  test("only the parts that were asked for are judged", () => {
    const targets = judgeTargets(raw({ options: { ...OPTIONS, parts: ["memory"] } }));
    expect(targets.map((t) => t.name)).toEqual(["proxy RSS, 10000 Services, MiB"]);
  });
});

describe("buildReport and renderTable", () => {
  test("summaries, rounded figures and the printed targets", () => {
    const report = buildReport(raw({ failures: ["one thing broke"] }));
    expect(report.fullSync.map((f) => [f.services, f.totalMs.p50, f.totalMs.n])).toEqual([
      [1000, 250, 3],
      [10_000, 1900, 3],
    ]);
    expect(report.incremental.map((i) => i.totalMs.p50)).toEqual([10, 45]);
    expect(report.latency.ratios.iptables?.connectP50).toBe(3);
    expect(report.memory?.rssMiB).toBe(150.444);
    expect(report.failures).toEqual({ count: 1, first: ["one thing broke"] });
    const text = renderTable(report);
    expect(text).toContain("10,000 × 10");
    expect(text).toMatch(/podnet, 10,000\s+0\.110/);
    expect(text).toContain("connect p50 ratio, large / small table: podnet 1.10");
    expect(text).toContain("iptables structure 3.00");
    expect(report.latency).toMatchObject({ loadRatio: 0.05, replaceRatio: 0.06, nftFileRatio: 0.15 });
    expect(report.latency.cases.map((c) => [c.subject, c.loadMs, c.replaceMs, c.nftFileMs])).toEqual([
      ["podnet", 10, 12, 30],
      ["podnet", 10, 12, 30],
      ["iptables", 200, undefined, undefined],
      ["iptables", 200, undefined, undefined],
    ]);
    // The iptables cases carry no podnet-only figures, not even as null.
    expect(Object.keys(report.latency.cases[2] ?? {})).not.toContain("replaceMs");
    expect(text).toMatch(/podnet, 10,000\s+0\.110(\s+\S+){7}\s+10\s+12\s+30\n/);
    expect(text).toMatch(/iptables, 10,000\s+0\.300(\s+\S+){7}\s+200\n/);
    expect(text).toContain(
      "podnet / iptables structure's nft -f: as the agent syncs 0.050 (target ≤ 0.1); replacing its live table 0.060; by nft -f 0.150",
    );
    expect(text).toMatch(/full sync, 10000 Services, median ms\s+1900\s+≤ 2000 ms\s+met/);
    expect(text).toContain("Failures: 1\n  one thing broke");
  });

  test("nft's floor, the rows through ProxyState and the agent's memory", () => {
    const podnet = {
      binary: "dist/podnet",
      version: "0.1.0",
      modified: "2026-01-01T00:00:00.000Z",
      replacedDuringRun: true,
    };
    const report = buildReport(raw({ agentMemory: AGENT, podnet }));
    expect(report.nftStartMs).toBe(14);
    expect(report.nftFloor?.nftOwnStartMs).toBe(9.5);
    expect(report.stateSync.map((r) => [r.services, r.path, r.changes, r.totalMs.p50])).toEqual([
      [1000, "nft -f", 1, 5],
      [1000, "nft -i", 1, 2.5],
      [1000, "nft -f", 100, 31],
      [1000, "nft -i", 100, 21],
      [10_000, "nft -f", 1, 7],
      [10_000, "nft -i", 1, 3.5],
      [10_000, "nft -f", 100, 31],
      [10_000, "nft -i", 100, 21],
    ]);
    expect(report.stateSync.map((r) => r.fallbacks)).toEqual([0, 0, 0, 3, 0, 0, 0, 3]);
    expect(report.flatness.map((f) => [f.path, f.smallP50, f.largeP50, f.ratio])).toEqual([
      ["nft -f", 5, 7, 1.4],
      ["nft -i", 2.5, 3.5, 1.4],
    ]);
    expect(report.agentMemory).toMatchObject({
      measured: true,
      proxyShare: { rssMiB: 100.25, hwmMiB: 160 },
      withProxy: { rssMiB: 180.5, hwmMiB: 240, emptyRssMiB: 60 },
    });
    const text = renderTable(report);
    expect(text).toMatch(/nft's own start \(\/dev\/null − launcher\)\s+9\.5/);
    expect(text).toMatch(/10,000\s+nft -f\s+100\s+0\.50\s+30\.5\s+31\.0/);
    expect(text).toMatch(/10,000\s+nft -i\s+100\s+0\.50\s+20\.5\s+21\.0\s+22\.0\s+300\s+3\/3/);
    expect(text).toContain(
      "flatness (nft -i): single-change total p50 3.5 ms at 10,000 / 2.5 ms at 1,000 = 1.40",
    );
    expect(text).toMatch(/proxy's share \(on − off\)\s+100\.3\s+160\.0/);
    expect(text).toContain("the table held the last Service 12.35 s after the first write");
    expect(text).toContain(
      "agent: dist/podnet (0.1.0, built 2026-01-01T00:00:00.000Z); replaced during the run (both agents ran a copy taken at the start)",
    );
  });

  test("an agent that could not be measured says why", () => {
    const report = buildReport(raw({ agentMemory: { measured: false, reason: "no --proxy flag" } }));
    expect(renderTable(report)).toContain("Proxy memory in a running agent: not measured (no --proxy flag)");
  });
});

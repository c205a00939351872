import { describe, expect, test } from "bun:test";
import type { PathSample, PathsRun } from "./iperf-rounds.ts";
import { meanRatio, pathReports, pathRow, roundRatios } from "./path-report.ts";

type K = "raw" | "pod";

function run(gbps: Record<K, (number | undefined)[]>): PathsRun<K> {
  const samples: PathSample<K>[] = [];
  for (const path of ["raw", "pod"] as const)
    gbps[path].forEach((v, round) => {
      if (v === undefined) return;
      const result = {
        receivedBps: v * 1e9,
        sentBps: v * 1e9,
        retransmits: round + 1,
        seconds: 5,
        cpuClientPercent: 50 + round,
        cpuServerPercent: null,
      };
      samples.push({ path, round, result });
    });
  const info = (mtu: number) => ({ from: "a", to: "b", mtu });
  return { paths: { raw: info(1500), pod: info(1450) }, samples };
}

describe("path reports", () => {
  const t = run({ raw: [10, 8], pod: [9, undefined] });

  test("per path: Gbit/s over the rounds, retransmits summed, CPU averaged where measured", () => {
    const r = pathReports(t, ["raw", "pod"]);
    expect(r.raw).toMatchObject({ mtu: 1500, samplesGbps: [10, 8], retransmits: 3, cpuClientPercent: 50.5 });
    expect(r.raw?.cpuServerPercent).toBeNull();
    expect(r.pod).toMatchObject({ mtu: 1450, samplesGbps: [9], retransmits: 1 });
    expect(pathReports(run({ raw: [1], pod: [] }), ["raw", "pod"]).pod).toBeUndefined();
  });

  test("ratios: of the means, and per round only where the anchor ran the same round", () => {
    expect(meanRatio(t, "pod", "raw")).toBeCloseTo(1);
    expect(meanRatio(run({ raw: [], pod: [1] }), "pod", "raw")).toBeNull();
    expect(roundRatios(run({ raw: [10, undefined], pod: [9, 7] }), "pod", "raw")).toEqual([0.9]);
  });

  test("a table row: label, figures, MTU, retransmits, CPU client/server, the ratio text", () => {
    const r = pathReports(t, ["raw"]).raw;
    if (!r) throw new Error("no raw report");
    expect(pathRow("raw", r, "")).toEqual(["raw", "9.00", "8.00", "10.00", "1500", "3", "51/n/a", ""]);
  });
});

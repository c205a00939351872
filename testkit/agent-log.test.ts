import { describe, expect, test } from "bun:test";
import { metricSum, parseAgentLog, problems, startTimeline } from "./agent-log.ts";

const log = [
  '{"time":"2026-11-21T10:00:00.100Z","level":"info","msg":"cluster config","component":"agent","node":"node50"}',
  '{"time":"2026-11-21T10:00:00.250Z","level":"info","msg":"blocks leased","blocks":["10.244.9.0/24"]}',
  "panic: not json",
  '{"time":"2026-11-21T10:00:00.300Z","level":"info","msg":"CNI config written","changed":true}',
  '{"time":"2026-11-21T10:00:00.420Z","level":"warn","msg":"peer block not routed","peer":"x"}',
  '{"time":"2026-11-21T10:00:00.450Z","level":"info","msg":"node network programmed: ready"}',
  "",
].join("\n");

describe("agent log", () => {
  test("JSON lines become entries with their time; other lines are skipped", () => {
    const entries = parseAgentLog(log);
    expect(entries.map((e) => e.msg)).toEqual([
      "cluster config",
      "blocks leased",
      "CNI config written",
      "peer block not routed",
      "node network programmed: ready",
    ]);
    expect(entries[1]?.fields.blocks).toEqual(["10.244.9.0/24"]);
    expect(entries[0]?.fields.node).toBe("node50");
  });

  test("the start timeline is measured from the spawn", () => {
    const origin = Date.parse("2026-11-21T10:00:00.000Z");
    const t = startTimeline(parseAgentLog(log), origin);
    expect(t).toEqual({ firstLogMs: 100, blocksLeasedMs: 250, conflistWrittenMs: 300, readyMs: 450 });
    expect(startTimeline([], origin).readyMs).toBeNull();
  });

  test("warnings and errors since a point in time", () => {
    const origin = Date.parse("2026-11-21T10:00:00.000Z");
    expect(problems(parseAgentLog(log), origin).map((e) => e.msg)).toEqual(["peer block not routed"]);
    expect(problems(parseAgentLog(log), origin + 500)).toEqual([]);
  });
});

describe("metricSum", () => {
  const text = [
    "# HELP podnet_agent_route_syncs_total Route synchronisations run.",
    "# TYPE podnet_agent_route_syncs_total counter",
    "podnet_agent_route_syncs_total 12",
    'podnet_agent_errors_total{kind="store"} 2',
    'podnet_agent_errors_total{kind="sync"} 1',
    "podnet_agent_route_sync_duration_seconds_sum 0.75",
    "podnet_agent_route_sync_duration_seconds_count 12",
  ].join("\n");

  test("sums every series of the metric, and only that metric", () => {
    expect(metricSum(text, "podnet_agent_route_syncs_total")).toBe(12);
    expect(metricSum(text, "podnet_agent_errors_total")).toBe(3);
    expect(metricSum(text, "podnet_agent_route_sync_duration_seconds_sum")).toBe(0.75);
    expect(metricSum(text, "podnet_agent_route_sync_duration_seconds")).toBeUndefined();
  });
});

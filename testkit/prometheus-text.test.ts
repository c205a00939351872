import { describe, expect, test } from "bun:test";
import { metricSum, metricValue } from "./prometheus-text.ts";

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

describe("metricValue", () => {
  const text = [
    "# TYPE podnet_proxy_rules gauge",
    'podnet_proxy_syncs_total{kind="full"} 3',
    'podnet_proxy_syncs_total{kind="partial"} 7',
    "podnet_agent_ready 1",
  ].join("\n");

  test("reads the one sample named exactly, labels included", () => {
    expect(metricValue(text, 'podnet_proxy_syncs_total{kind="partial"}')).toBe(7);
    expect(metricValue(text, "podnet_agent_ready")).toBe(1);
    expect(metricValue(text, "podnet_proxy_syncs_total")).toBeUndefined();
    expect(metricValue(text, "podnet_proxy_rules")).toBeUndefined();
  });
});

import { describe, expect, test } from "bun:test";
import { Registry } from "./metrics.ts";

describe("Registry", () => {
  test("renders counters, gauges and histograms in the Prometheus text format", () => {
    const r = new Registry();
    const errors = r.counter("podnet_errors_total", "Errors by kind.");
    const peers = r.gauge("podnet_peers", "Peers by route kind.");
    const sync = r.histogram("podnet_sync_seconds", "Route sync duration.", [0.01, 0.1]);
    errors.inc({ kind: "store" });
    errors.inc({ kind: "store" });
    errors.inc({ kind: 'we"ird' });
    peers.set(2, { route: "direct" });
    sync.observe(0.005);
    sync.observe(0.05);
    sync.observe(3);
    expect(r.render()).toBe(
      [
        "# HELP podnet_errors_total Errors by kind.",
        "# TYPE podnet_errors_total counter",
        'podnet_errors_total{kind="store"} 2',
        'podnet_errors_total{kind="we\\"ird"} 1',
        "# HELP podnet_peers Peers by route kind.",
        "# TYPE podnet_peers gauge",
        'podnet_peers{route="direct"} 2',
        "# HELP podnet_sync_seconds Route sync duration.",
        "# TYPE podnet_sync_seconds histogram",
        'podnet_sync_seconds_bucket{le="0.01"} 1',
        'podnet_sync_seconds_bucket{le="0.1"} 2',
        'podnet_sync_seconds_bucket{le="+Inf"} 3',
        "podnet_sync_seconds_sum 3.055",
        "podnet_sync_seconds_count 3",
        "",
      ].join("\n"),
    );
  });
});

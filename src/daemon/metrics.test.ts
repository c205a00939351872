import { describe, expect, test } from "bun:test";
import { Metrics } from "./metrics.ts";

/** The exposition lines of a rendering, without the blank lines between families. */
function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

describe("Metrics", () => {
  test("renders counters, gauges and histograms in the Prometheus text format", async () => {
    const r = new Metrics({ processMetrics: false });
    const errors = r.counter("podnet_errors_total", "Errors by kind.", ["kind"]);
    const peers = r.gauge("podnet_peers", "Peers by route kind.", ["route"]);
    const sync = r.histogram("podnet_sync_seconds", "Route sync duration.", [0.01, 0.1]);
    errors.inc({ kind: "store" });
    errors.inc({ kind: "store" });
    errors.inc({ kind: 'we"ird' });
    peers.set({ route: "direct" }, 2);
    sync.observe(0.005);
    sync.observe(0.05);
    sync.observe(3);
    expect(lines(await r.render())).toEqual([
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
    ]);
  });

  test("a daemon's registry also exports the standard process metrics", async () => {
    const text = await new Metrics().render();
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "process_open_fds",
      "nodejs_eventloop_lag_seconds",
    ])
      expect(text).toMatch(new RegExp(`^${name} \\d`, "m"));
  });

  test("two daemons in one process keep separate registries", async () => {
    const a = new Metrics({ processMetrics: false });
    const b = new Metrics({ processMetrics: false });
    a.counter("podnet_same_total", "Same name.").inc();
    b.counter("podnet_same_total", "Same name.");
    expect(await a.render()).toContain("podnet_same_total 1");
    expect(await b.render()).toContain("podnet_same_total 0");
  });
});

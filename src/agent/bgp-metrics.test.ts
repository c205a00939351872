import { describe, expect, test } from "bun:test";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { Metrics } from "../daemon/metrics.ts";
import { agentMetrics } from "./agent-metrics.ts";
import { recordBgpMetrics } from "./bgp-metrics.ts";
import { type BgpSessionStatus, type BgpStatus, EMPTY_BGP_STATUS } from "./bgp-status.ts";

const session: BgpSessionStatus = {
  peer: "router-lan1",
  protocol: "peer_router_lan1",
  neighbor: "192.0.2.1",
  localAddress: "192.0.2.11",
  asNumber: 64512,
  localAsNumber: 64512,
  kind: "ibgp",
  state: "up",
  bgpState: "Established",
  established: true,
  routes: [{ family: "ipv4", state: "UP", imported: 2, filtered: 0, exported: 1, preferred: 2 }],
};
const up: BgpStatus = { ...EMPTY_BGP_STATUS, enabled: true, running: true, sessions: [session] };

describe("recordBgpMetrics", () => {
  test("session gauges follow the status; reload and restart counters advance by the change", async () => {
    const metrics = new Metrics({ processMetrics: false });
    const m = agentMetrics(metrics);
    recordBgpMetrics(m, { ...up, reloads: { ok: 1, failed: 0 } }, undefined);
    let text = await metrics.render();
    expect(metricValue(text, 'podnet_bgp_session_up{peer="router-lan1",neighbor="192.0.2.1"}')).toBe(1);
    expect(metricValue(text, 'podnet_bgp_session_state{peer="router-lan1",state="Established"}')).toBe(1);
    expect(
      metricValue(text, 'podnet_bgp_routes{peer="router-lan1",family="ipv4",direction="imported"}'),
    ).toBe(2);
    expect(
      metricValue(text, 'podnet_bgp_routes{peer="router-lan1",family="ipv4",direction="exported"}'),
    ).toBe(1);
    expect(metricValue(text, 'podnet_bird_reloads_total{result="ok"}')).toBe(1);
    expect(metricValue(text, 'podnet_agent_errors_total{kind="bgp"}')).toBe(0);

    const previous = { ...up, reloads: { ok: 1, failed: 0 } };
    const down: BgpStatus = {
      ...up,
      sessions: [{ ...session, state: "start", bgpState: "Active", established: false, routes: [] }],
      reloads: { ok: 2, failed: 1 },
      restarts: 1,
    };
    recordBgpMetrics(m, down, previous);
    text = await metrics.render();
    expect(metricValue(text, 'podnet_bgp_session_up{peer="router-lan1",neighbor="192.0.2.1"}')).toBe(0);
    expect(
      metricValue(text, 'podnet_bgp_session_state{peer="router-lan1",state="Established"}'),
    ).toBeUndefined();
    expect(metricValue(text, 'podnet_bgp_session_state{peer="router-lan1",state="Active"}')).toBe(1);
    expect(
      metricValue(text, 'podnet_bgp_routes{peer="router-lan1",family="ipv4",direction="imported"}'),
    ).toBeUndefined();
    expect(metricValue(text, 'podnet_bird_reloads_total{result="ok"}')).toBe(2);
    expect(metricValue(text, 'podnet_bird_reloads_total{result="failed"}')).toBe(1);
    expect(metricValue(text, "podnet_bird_restarts_total")).toBe(1);
    expect(metricValue(text, 'podnet_agent_errors_total{kind="bgp"}')).toBe(2);
  });
});

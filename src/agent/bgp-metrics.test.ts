import { describe, expect, test } from "bun:test";
import { establishedSession } from "../../test/support/bgp-session-fixtures.ts";
import { metricValue } from "../../testkit/prometheus-text.ts";
import { Metrics } from "../daemon/metrics.ts";
import { agentMetrics } from "./agent-metrics.ts";
import { recordBgpMetrics } from "./bgp-metrics.ts";
import { type BgpStatus, EMPTY_BGP_STATUS } from "./bgp-status.ts";

const session = establishedSession({ establishedSeconds: 42 });
const AGE = 'podnet_bgp_session_established_seconds{peer="router-lan1",neighbor="192.0.2.1"}';
const up: BgpStatus = { ...EMPTY_BGP_STATUS, enabled: true, running: true, sessions: [session] };

describe("recordBgpMetrics", () => {
  test("session gauges follow the status; reload and restart counters advance by the change", async () => {
    const metrics = new Metrics({ processMetrics: false });
    const m = agentMetrics(metrics);
    recordBgpMetrics(m, { ...up, reloads: { ok: 1, failed: 0 } }, undefined);
    let text = await metrics.render();
    expect(metricValue(text, 'podnet_bgp_session_up{peer="router-lan1",neighbor="192.0.2.1"}')).toBe(1);
    expect(metricValue(text, AGE)).toBe(42);
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
    // Not Established: the session keeps its series, at 0.
    expect(metricValue(text, AGE)).toBe(0);
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

  test("the session age follows the polls, and a session no longer configured loses its series", async () => {
    const metrics = new Metrics({ processMetrics: false });
    const m = agentMetrics(metrics);
    recordBgpMetrics(m, up, undefined);
    const older: BgpStatus = { ...up, sessions: [{ ...session, establishedSeconds: 44 }] };
    recordBgpMetrics(m, older, up);
    expect(metricValue(await metrics.render(), AGE)).toBe(44);
    recordBgpMetrics(m, { ...up, enabled: false, sessions: [] }, older);
    expect(metricValue(await metrics.render(), AGE)).toBeUndefined();
  });
});

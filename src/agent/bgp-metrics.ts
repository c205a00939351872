/**
 * The agent's BGP series from the speaker's status (after each poll and each change): session
 * up, state and age gauges and route counts per peer are set anew. The age
 * (`podnet_bgp_session_established_seconds`) is the seconds since the session entered
 * Established, as of the last poll, and 0 while it is not Established, so every configured
 * session has the series (a reset to a small value is a session that flapped). BIRD's reload
 * and restart totals are counters, advanced by what changed since the previous status. A failed
 * reload and an unexpected BIRD exit also count as errors of kind "bgp".
 */
import type { AgentMetrics } from "./agent-metrics.ts";
import type { BgpStatus } from "./bgp-status.ts";

export function recordBgpMetrics(m: AgentMetrics, status: BgpStatus, previous: BgpStatus | undefined): void {
  m.bgpSessionUp.reset();
  m.bgpSessionEstablishedSeconds.reset();
  m.bgpSessionState.reset();
  m.bgpRoutes.reset();
  for (const s of status.sessions) {
    m.bgpSessionUp.set({ peer: s.peer, neighbor: s.neighbor }, s.established ? 1 : 0);
    m.bgpSessionEstablishedSeconds.set(
      { peer: s.peer, neighbor: s.neighbor },
      s.established ? (s.establishedSeconds ?? 0) : 0,
    );
    m.bgpSessionState.set({ peer: s.peer, state: s.bgpState }, 1);
    for (const r of s.routes) {
      m.bgpRoutes.set({ peer: s.peer, family: r.family, direction: "imported" }, r.imported);
      m.bgpRoutes.set({ peer: s.peer, family: r.family, direction: "exported" }, r.exported);
    }
  }
  const ok = status.reloads.ok - (previous?.reloads.ok ?? 0);
  const failed = status.reloads.failed - (previous?.reloads.failed ?? 0);
  const restarts = status.restarts - (previous?.restarts ?? 0);
  if (ok > 0) m.birdReloads.inc({ result: "ok" }, ok);
  if (failed > 0) m.birdReloads.inc({ result: "failed" }, failed);
  if (restarts > 0) m.birdRestarts.inc(restarts);
  if (failed + restarts > 0) m.errors.inc({ kind: "bgp" }, Math.max(0, failed) + Math.max(0, restarts));
}

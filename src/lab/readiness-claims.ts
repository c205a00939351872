/**
 * The readiness claim `lab check` proves, as a pure judgement over what readiness-check.ts saw: a
 * pod whose echo server was stopped turned `ready: false` in its record, left the Service's
 * endpoints on every node's nft map, no connection to the ClusterIP meanwhile failed or reached it,
 * and once its server ran again it was back on every node.
 */
import type { ProbeOutcome, Verdict } from "./claims.ts";

export const READINESS_CLAIM =
  "a pod whose server stops leaves the Service's endpoints on every node (no connection reaches it) and comes back when it starts again";

/** When (ms after the server was stopped or started) something was first seen; undefined: never. */
export interface ReadinessPhase {
  /** The pod's record said ready:false (stop) or ready (start). */
  readonly recordMs: number | undefined;
  /** Every node's map lacked (stop) or held (start) the pod's address. */
  readonly mapsMs: number | undefined;
  /** The nodes whose map still held (stop) or still lacked (start) it when the wait ended. */
  readonly lagging: readonly string[];
  /** How long the phase was waited for. */
  readonly limitMs: number;
}

export interface ReadinessObservation {
  readonly pod: string;
  readonly ip: string;
  /** The check the pod declared ("tcp 8080"). */
  readonly check: string;
  readonly nodes: number;
  readonly stopped: ReadinessPhase;
  /** Connections to the ClusterIP sent while the server was stopped, per client. */
  readonly probes: readonly { readonly client: string; readonly outcomes: readonly ProbeOutcome[] }[];
  readonly started: ReadinessPhase | undefined;
}

/** Problems beyond these are counted, not listed (every connection may fail the same way). */
const MAX_PROBLEMS = 6;
const ms = (v: number | undefined) => (v === undefined ? "?" : `${v} ms`);

export function readinessFollowsServer(o: ReadinessObservation): Verdict {
  const problems: string[] = [];
  const s = o.stopped;
  if (s.recordMs === undefined)
    problems.push(`${o.pod}'s record did not say ready:false within ${s.limitMs} ms of its server stopping`);
  if (s.mapsMs === undefined || s.lagging.length > 0)
    problems.push(
      `${o.pod} (${o.ip}) was still an endpoint on ${s.lagging.join(", ") || "some node"} ${s.limitMs} ms after its server stopped`,
    );
  let sent = 0;
  const answerers = new Set<string>();
  for (const c of o.probes) {
    for (const outcome of c.outcomes) {
      sent++;
      if (outcome.kind === "error") problems.push(`${c.client}: ${outcome.message}`);
      else if (outcome.probe.reply.pod === o.pod)
        problems.push(`${c.client} was answered by ${o.pod}, whose server was stopped`);
      else answerers.add(outcome.probe.reply.pod);
    }
  }
  if (sent === 0) problems.push("no connection was sent while the server was stopped");
  const st = o.started;
  if (st === undefined) problems.push(`${o.pod}'s server was not started again`);
  else {
    if (st.recordMs === undefined)
      problems.push(`${o.pod}'s record was not ready again within ${st.limitMs} ms of its server starting`);
    if (st.mapsMs === undefined || st.lagging.length > 0)
      problems.push(
        `${o.pod} (${o.ip}) was not back as an endpoint on ${st.lagging.join(", ") || "some node"} within ${st.limitMs} ms`,
      );
  }
  const evidence =
    `${o.pod} (${o.ip}, check ${o.check}) stopped: ready:false after ${ms(s.recordMs)}, gone from all ${o.nodes} nodes' endpoints after ${ms(s.mapsMs)}; ` +
    `${sent} connections from ${o.probes.map((c) => c.client).join(", ")} all answered by others (${[...answerers].sort().join(", ")}); ` +
    `started again: ready after ${ms(st?.recordMs)}, back on every node after ${ms(st?.mapsMs)}`;
  const shown =
    problems.length > MAX_PROBLEMS
      ? [...problems.slice(0, MAX_PROBLEMS), `${problems.length - MAX_PROBLEMS} more`]
      : problems;
  return {
    ok: problems.length === 0,
    claim: READINESS_CLAIM,
    evidence: problems.length ? shown.join("; ") : evidence,
  };
}

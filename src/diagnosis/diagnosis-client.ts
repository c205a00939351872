/**
 * The requester's side of `podnet explain` and `podnet trace`: ask the node agents, through the
 * datastore, for what only a node can see, and wait — boundedly — for their answers. A node that
 * does not answer in time is not an error but a `Missing` entry with the reason, so the report
 * can say "node3 did not answer — is its agent running?" next to everything the others showed.
 *
 * A trace is four steps (cluster/diagnosis-protocol.ts): request → every node on the path answers
 * `facts/NODE` and arms (`armed/NODE`) → `go` → the probe (`probe`, from the source's agent, or
 * sent here for a source outside the cluster) → every armed node puts `observed/NODE`.
 */
import type {
  NodeFacts,
  NodeObservation,
  ProbeResult,
  RouteQuery,
  TraceSpec,
} from "../cluster/diagnosis-protocol.ts";
import type { Store } from "../store/store.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import {
  DiagnosisSession,
  DiagnosisSessionError,
  requesterName,
  type SessionOptions,
} from "./diagnosis-session.ts";

export interface Missing {
  readonly node: string;
  readonly reason: string;
}

export interface DiagnosisQuery {
  /** The nodes that answer; empty means every node of the snapshot. */
  readonly nodes: string[];
  readonly addresses: string[];
  readonly routeLookups: RouteQuery[];
}

/** What runTraceSession needs of a TracePlan (diagnosis/trace-plan.ts); a TracePlan is one. */
export interface TraceSessionPlan {
  readonly spec: TraceSpec;
  readonly request: DiagnosisQuery;
}

export interface TraceSessionOptions {
  readonly timeoutMs: number;
  /** false: facts only, nothing is armed or sent (`--no-probe`). */
  readonly probe: boolean;
  /** Sends the probe for a source outside the cluster (no agent there). */
  readonly sendProbe?: (spec: TraceSpec) => Promise<ProbeResult>;
  /** Test hooks (lease TTL, keep-alive period, signal handling). */
  readonly session?: SessionOptions;
}

export interface TraceSessionResult {
  readonly facts: NodeFacts[];
  readonly observations: NodeObservation[];
  readonly probe?: ProbeResult;
  readonly missing: Missing[];
}

/** Once a probe has gone out, the agents get at least this long to report what they saw. */
const OBSERVE_GRACE_MS = 1500;
/** How long past the probe's own timeout its result may take to arrive. */
const PROBE_SLACK_MS = 2000;

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

function expectedNodes(snapshot: ClusterSnapshot, query: DiagnosisQuery): string[] {
  const nodes = query.nodes.length > 0 ? query.nodes : snapshot.nodes.map((n) => n.name);
  return [...new Set(nodes)];
}

function factsMissing(session: DiagnosisSession, nodes: readonly string[], waitedMs: number): Missing[] {
  const out: Missing[] = [];
  for (const node of nodes) {
    if (session.facts.has(node)) continue;
    const rejected = session.rejected.get(`facts/${node}`);
    out.push({
      node,
      reason: rejected
        ? `answered malformed facts: ${rejected}`
        : `no answer within ${seconds(waitedMs)} — is its agent running?`,
    });
  }
  return out;
}

const inOrder = <T>(nodes: readonly string[], map: ReadonlyMap<string, T>): T[] =>
  nodes.flatMap((n) => {
    const v = map.get(n);
    return v === undefined ? [] : [v];
  });

/** Asks `request.nodes` (or every node) for their facts and waits up to `timeoutMs` for them. */
export async function collectFacts(
  store: Store,
  snapshot: ClusterSnapshot,
  request: DiagnosisQuery,
  options: { timeoutMs: number; session?: SessionOptions; command?: string },
): Promise<{ facts: NodeFacts[]; missing: Missing[] }> {
  const started = Date.now();
  const nodes = expectedNodes(snapshot, request);
  const session = await DiagnosisSession.start(
    store,
    {
      kind: "facts",
      requester: requesterName(options.command ?? "explain"),
      nodes: request.nodes,
      addresses: request.addresses,
      routeLookups: request.routeLookups,
    },
    options.session,
  );
  try {
    const answered = () => nodes.every((n) => session.facts.has(n) || session.rejected.has(`facts/${n}`));
    await session.until(answered, started + options.timeoutMs);
    return {
      facts: inOrder(nodes, session.facts),
      missing: factsMissing(session, nodes, Date.now() - started),
    };
  } finally {
    await session.close();
  }
}

async function probeOutside(
  spec: TraceSpec,
  sendProbe: (spec: TraceSpec) => Promise<ProbeResult>,
): Promise<ProbeResult> {
  const started = Date.now();
  try {
    return await sendProbe(spec);
  } catch (e) {
    return { outcome: "error", ms: Date.now() - started, error: (e as Error).message };
  }
}

/**
 * Runs a trace request: facts from every node on the path, then (with `probe`) arming, the
 * probe and the observations. Everything is bounded by `timeoutMs`, except that observations
 * get OBSERVE_GRACE_MS after a probe however late it came.
 */
export async function runTraceSession(
  store: Store,
  snapshot: ClusterSnapshot,
  plan: TraceSessionPlan,
  options: TraceSessionOptions,
): Promise<TraceSessionResult> {
  if (!options.probe) {
    const { facts, missing } = await collectFacts(store, snapshot, plan.request, {
      ...options,
      command: "trace --no-probe",
    });
    return { facts, observations: [], missing };
  }
  const { spec } = plan;
  const external = spec.source.kind === "external";
  if (external && !options.sendProbe)
    throw new DiagnosisSessionError(
      `Cannot trace from ${spec.source.kind === "external" ? spec.source.ip : "?"}: it is outside the cluster, no agent sends for it, and no other prober was given`,
    );
  const started = Date.now();
  const end = started + options.timeoutMs;
  const nodes = expectedNodes(snapshot, plan.request);
  const session = await DiagnosisSession.start(
    store,
    {
      kind: "trace",
      requester: requesterName("trace"),
      nodes: plan.request.nodes,
      addresses: plan.request.addresses,
      routeLookups: plan.request.routeLookups,
      trace: spec,
    },
    options.session,
  );
  try {
    const settled = (part: string, n: string, map: ReadonlyMap<string, unknown>) =>
      map.has(n) || session.rejected.has(`${part}/${n}`);
    // Arming: every node answers its facts and arms, or half the budget is gone.
    await session.until(
      () => nodes.every((n) => settled("facts", n, session.facts) && settled("armed", n, session.armed)),
      started + options.timeoutMs / 2,
    );
    const armedMs = Date.now() - started;
    const armed = nodes.filter((n) => {
      const report = session.armed.get(n);
      return report !== undefined && report.error === undefined;
    });
    let probed = false;
    if (armed.length > 0 || external) {
      await session.put("go", JSON.stringify({ at: new Date().toISOString() }));
      probed = true;
      if (external && options.sendProbe) {
        await session.putProbe(await probeOutside(spec, options.sendProbe));
      } else {
        await session.until(
          () => session.probe !== undefined || session.rejected.has("probe"),
          Math.min(end, Date.now() + spec.probeTimeoutMs + PROBE_SLACK_MS),
        );
      }
      // Agents observe when they see the probe's result: without one there is nothing to wait for.
      if (session.probe !== undefined)
        await session.until(
          () => armed.every((n) => settled("observed", n, session.observed)),
          Math.max(end, Date.now() + OBSERVE_GRACE_MS),
        );
    }
    const missing = factsMissing(session, nodes, Date.now() - started);
    for (const node of nodes) {
      if (!session.facts.has(node) && !session.armed.has(node)) continue; // already "no answer"
      const report = session.armed.get(node);
      const rejected = session.rejected.get(`armed/${node}`);
      if (rejected) missing.push({ node, reason: `answered a malformed armed report: ${rejected}` });
      else if (report === undefined)
        missing.push({ node, reason: `did not arm its tracing rules within ${seconds(armedMs)}` });
      else if (report.error !== undefined)
        missing.push({ node, reason: `could not arm its tracing rules: ${report.error}` });
      else if (session.probe !== undefined && !session.observed.has(node)) {
        const bad = session.rejected.get(`observed/${node}`);
        missing.push({
          node,
          reason: bad
            ? `answered a malformed observation: ${bad}`
            : "armed, but reported no observation in time",
        });
      }
    }
    if (probed && session.probe === undefined) {
      const source = spec.source.kind === "external" ? spec.source.ip : spec.source.node;
      const bad = session.rejected.get("probe");
      missing.push({
        node: source,
        reason: bad
          ? `answered a malformed probe result: ${bad}`
          : "the probe result never came — was the source node armed and its agent running?",
      });
    }
    return {
      facts: inOrder(nodes, session.facts),
      observations: inOrder(nodes, session.observed),
      ...(session.probe !== undefined ? { probe: session.probe } : {}),
      missing,
    };
  } finally {
    await session.close();
  }
}

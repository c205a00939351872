/**
 * The `podnet trace --json` object (pure), schema "podnet.trace/v1" (docs/trace-json.md): the
 * source and destination as resolved, the probe's protocol and ports, the prediction (every path,
 * both directions), the observation, the verdict, the drift that concerns this path and the nodes
 * that did not answer.
 */
import type { ProbeResult } from "../cluster/diagnosis-protocol.ts";
import type { Drift } from "./drift.ts";
import type { ResolvedTarget } from "./target.ts";
import { inPrefix, podName, sameIP } from "./trace-net.ts";
import type { TracePlan } from "./trace-plan.ts";
import {
  type Observation,
  type Prediction,
  TRACE_SCHEMA,
  type TraceEndpointView,
  type TraceReport,
  type TraceVerdict,
} from "./trace-types.ts";

export function endpointView(target: ResolvedTarget): TraceEndpointView {
  switch (target.kind) {
    case "pod":
      return {
        kind: "pod",
        text: podName(target.pod),
        ip: target.ip,
        ...(target.port !== undefined ? { port: target.port } : {}),
        node: target.pod.node,
        pod: podName(target.pod),
      };
    case "node":
      return {
        kind: "node",
        text: target.node.name,
        ip: target.ip,
        ...(target.port !== undefined ? { port: target.port } : {}),
        node: target.node.name,
      };
    case "service": {
      const name = `${target.service.namespace}/${target.service.name}`;
      return {
        kind: "service",
        text: name,
        ip: target.ip,
        ...(target.port !== undefined ? { port: target.port } : {}),
        service: name,
      };
    }
    case "node-port": {
      const name = `${target.service.namespace}/${target.service.name}`;
      return {
        kind: "node-port",
        text: `${target.node?.name ?? target.ip}:${target.port} (NodePort of ${name})`,
        ip: target.ip,
        port: target.port,
        ...(target.node ? { node: target.node.name } : {}),
        service: name,
      };
    }
    case "external":
      return {
        kind: "external",
        text: target.ip,
        ip: target.ip,
        ...(target.port !== undefined ? { port: target.port } : {}),
      };
    default: {
      const never: never = target;
      throw new Error(`unhandled target ${JSON.stringify(never)}`);
    }
  }
}

/** Drift kinds that concern every packet a node forwards, whatever its addresses. */
const NODE_WIDE = new Set<string>([
  "ip-forward-off",
  "rp-filter-strict",
  "agent-not-answering",
  "nft-table-missing",
  "node-ip-changed",
]);

/** The drift on the path's nodes that names one of its addresses (or a block or Service holding one), or the whole node. */
export function driftOnPath(plan: TracePlan, drift: readonly Drift[]): Drift[] {
  const nodes = new Set(plan.request.nodes);
  const addresses = plan.request.addresses;
  const services = new Set(
    [plan.destination, plan.source].flatMap((t) =>
      t.kind === "service" || t.kind === "node-port" ? [`${t.service.namespace}/${t.service.name}`] : [],
    ),
  );
  const mentions = (subject: string): boolean => {
    const head = subject.split(/[\s:]/)[0] ?? subject;
    if (addresses.some((a) => sameIP(a, head))) return true;
    if (head.includes("/") && addresses.some((a) => inPrefix(a, head))) return true;
    if ([...services].some((s) => subject.includes(s))) return true;
    return addresses.some((a) => subject.includes(a));
  };
  return drift.filter((d) => nodes.has(d.node) && (NODE_WIDE.has(d.kind) || mentions(d.subject)));
}

export function buildTraceReport(input: {
  plan: TracePlan;
  prediction: Prediction;
  observation?: Observation;
  verdict: TraceVerdict;
  drift: readonly Drift[];
  missing: readonly { node: string; reason: string }[];
  probed: boolean;
}): TraceReport {
  const { plan } = input;
  const probe: ProbeResult | undefined = input.observation?.probe;
  return {
    schema: TRACE_SCHEMA,
    source: endpointView(plan.source),
    destination: endpointView(plan.destination),
    proto: plan.spec.proto,
    ...(plan.spec.destination.port !== undefined ? { port: plan.spec.destination.port } : {}),
    ...(plan.spec.sourcePort !== undefined ? { sourcePort: plan.spec.sourcePort } : {}),
    probed: input.probed,
    prediction: input.prediction,
    ...(input.observation ? { observation: input.observation } : {}),
    verdict: input.verdict,
    drift: driftOnPath(plan, input.drift).map((d) => ({
      node: d.node,
      kind: d.kind,
      subject: d.subject,
      problem: d.problem,
      evidence: d.evidence,
      command: d.command,
    })),
    missing: input.missing.map((m) => ({ node: m.node, reason: m.reason })),
    ...(probe ? { probe } : {}),
  };
}

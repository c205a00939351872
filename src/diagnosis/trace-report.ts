/**
 * The `podnet trace --json` object (pure), schema "podnet.trace/v1" (docs/trace-json.md): the
 * source and destination as resolved, the probe's protocol and ports, the prediction (every path,
 * both directions), the observation, the verdict, the drift that concerns this path and the nodes
 * that did not answer.
 */
import type { ProbeResult } from "../cluster/diagnosis-protocol.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { Drift } from "./drift.ts";
import { relevantDrift } from "./drift-relevance.ts";
import type { Observation } from "./observation-types.ts";
import type { Prediction } from "./prediction-types.ts";
import type { ResolvedTarget } from "./target.ts";
import { podName } from "./trace-net.ts";
import type { TracePlan } from "./trace-plan.ts";
import { TRACE_SCHEMA, type TraceEndpointView, type TraceReport, type TraceVerdict } from "./trace-types.ts";

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
        text: `${hostPort(target.node?.name ?? target.ip, target.port)} (NodePort of ${name})`,
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
        ...(target.block ? { node: target.block.node } : {}),
      };
    default: {
      const never: never = target;
      throw new Error(`unhandled target ${JSON.stringify(never)}`);
    }
  }
}

/** The drift on the path's nodes that names one of its addresses (or a prefix holding one), or the whole node. */
export function driftOnPath(plan: TracePlan, drift: readonly Drift[]): Drift[] {
  return relevantDrift(drift, { addresses: plan.request.addresses, nodes: new Set(plan.request.nodes) });
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

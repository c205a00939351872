/**
 * Predicted vs observed, hop by hop (pure). The path compared is the one of the endpoint that
 * really answered (a different endpoint than the first predicted is no disagreement when it is one
 * of the candidates). Each predicted hop is marked observed, differs, missing, unobservable
 * (inside a pod, on a node that did not report, the outer packet without counters) or not-reached;
 * the first hop where what happened is not what the cluster means to happen is named with a reason
 * and evidence — a disagreement between prediction and observation, or a drop both agree on.
 */

import { sameIP } from "../ipnet/address.ts";
import { hopStatus, type Status } from "./compare-hop.ts";
import type { Observation } from "./observation-types.ts";
import {
  type DropReason,
  type Hop,
  isIntendedRefusal,
  type PathOutcome,
  type Prediction,
} from "./prediction-types.ts";
import type { HopComparison, TraceVerdict } from "./trace-types.ts";

function choosePath(prediction: Prediction, observation: Observation): number {
  const endpoint = observation.endpoint;
  if (endpoint) {
    const i = prediction.paths.findIndex((p) => p.endpoint && sameIP(p.endpoint.ip, endpoint.ip));
    if (i >= 0) return i;
  }
  return 0;
}

function expectedOutcomes(outcome: PathOutcome | "partial"): readonly Observation["outcome"][] {
  switch (outcome) {
    case "delivered":
    case "left-cluster":
      return ["answered"];
    case "refused":
      return ["refused"];
    case "dropped":
      return ["timeout", "unreachable"];
    case "unknown":
    case "partial":
      return ["answered", "refused", "timeout", "unreachable", "error"];
    default: {
      const never: never = outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
    }
  }
}

function describeHop(h: Hop): string {
  return `${h.where}: ${h.description}`;
}

export function compareTrace(prediction: Prediction, observation: Observation | undefined): TraceVerdict {
  const first = prediction.paths[0];
  if (!observation?.probed) {
    const drop = first?.drop;
    return {
      status: "predicted-only",
      summary: `predicted only (no probe sent): ${prediction.outcome}${drop ? ` — ${drop.message}` : ""}`,
      predicted: prediction.outcome,
      path: 0,
      hops: [],
    };
  }
  const index = choosePath(prediction, observation);
  const path = prediction.paths[index];
  const endpoint = observation.endpoint
    ? {
        ip: observation.endpoint.ip,
        ...(observation.endpoint.pod ? { pod: observation.endpoint.pod } : {}),
        candidate: prediction.candidates.some((c) => sameIP(c.ip, observation.endpoint?.ip ?? "")),
      }
    : undefined;
  if (!path)
    return {
      status: "inconclusive",
      summary: `nothing was predicted (${prediction.unknowns.join("; ") || "no path"}); observed ${observation.outcome}`,
      predicted: prediction.outcome,
      observed: observation.outcome,
      path: 0,
      ...(endpoint ? { endpoint } : {}),
      hops: [],
    };

  const hops: HopComparison[] = [];
  let stopped = false;
  let firstBad: { hop: Hop; index: number; status: Status } | undefined;
  let predictedDrop: { hop: Hop; index: number; status: Status } | undefined;
  for (const direction of ["forward", "reply"] as const) {
    const list = direction === "forward" ? path.forward : path.reply;
    list.forEach((h, i) => {
      const s: Status = stopped ? { status: "not-reached" } : hopStatus(h, observation, path);
      hops.push({
        direction,
        index: i,
        point: h.point,
        ...(h.node ? { node: h.node } : {}),
        status: s.status,
        ...(s.note ? { note: s.note } : {}),
      });
      if (!stopped && (s.status === "differs" || s.status === "missing") && !firstBad)
        firstBad = { hop: h, index: i, status: s };
      if (!stopped && h.drop && !predictedDrop) predictedDrop = { hop: h, index: i, status: s };
      if (firstBad || h.drop) stopped = true;
    });
  }

  const reported = observation.nodes.some((n) => n.reported && n.packets.length > 0);
  const od = observation.drop;
  // A reset from the destination itself (nothing listens on the port) is not the network's doing.
  const delivery = hops.find(
    (h) =>
      h.direction === "forward" && (h.point === "to-pod" || h.point === "to-host") && h.status === "observed",
  );
  const refusedAtDestination =
    path.outcome === "delivered" && observation.outcome === "refused" && delivery !== undefined && !od;
  const outcomeOk = expectedOutcomes(path.outcome).includes(observation.outcome) || refusedAtDestination;
  const mk = (
    hop: Hop,
    i: number,
    predicted: string,
    observed: string,
    reason: DropReason | "differs",
    evidence: readonly string[],
  ) => ({
    direction: hop.direction,
    index: i,
    ...(hop.node ? { node: hop.node } : {}),
    point: hop.point,
    predicted,
    observed,
    reason,
    evidence,
  });

  let firstDisagreement: TraceVerdict["firstDisagreement"];
  if (firstBad) {
    const reason: DropReason | "differs" =
      od && (od.node === firstBad.hop.node || !od.node) ? od.reason : "differs";
    firstDisagreement = mk(
      firstBad.hop,
      firstBad.index,
      describeHop(firstBad.hop),
      firstBad.status.note ?? (firstBad.status.status === "missing" ? "not seen" : "different"),
      reason,
      [...(od ? [od.message, ...od.evidence] : []), ...firstBad.hop.evidence],
    );
  } else if (predictedDrop?.hop.drop && !isIntendedRefusal(predictedDrop.hop.drop.reason)) {
    const d = predictedDrop.hop.drop;
    firstDisagreement = mk(
      predictedDrop.hop,
      predictedDrop.index,
      d.message,
      predictedDrop.status.note ??
        od?.message ??
        `the packet was not seen past ${predictedDrop.hop.node ?? "this hop"}`,
      d.reason,
      [...d.evidence, ...(od ? od.evidence : [])],
    );
  } else if (!outcomeOk && od) {
    const last =
      [...path.forward].reverse().find((h) => h.node === od.node) ?? path.forward[path.forward.length - 1];
    if (last)
      firstDisagreement = mk(
        last,
        path.forward.indexOf(last),
        describeHop(last),
        od.message,
        od.reason,
        od.evidence,
      );
  }

  const agree = !firstBad && outcomeOk;
  // A silent node leaves the story open past it: neither agreement nor a disagreement to trust.
  const silent = firstDisagreement?.reason === "agent-missing";
  const status: TraceVerdict["status"] = silent
    ? "inconclusive"
    : agree
      ? "agree"
      : !reported && !outcomeOk
        ? "inconclusive"
        : "disagree";
  const endpointText = endpoint
    ? `; endpoint ${endpoint.pod ?? endpoint.ip}${endpoint.candidate ? ` (1 of ${prediction.candidates.length} candidates)` : " (NOT a candidate)"}`
    : "";
  const observedCount = hops.filter((h) => h.status === "observed").length;
  let summary: string;
  const port = path.forward.at(-1)?.packet.dport;
  if (status === "agree" && refusedAtDestination)
    summary = `reached ${(delivery && path.forward[delivery.index]?.pod) ?? delivery?.node ?? "the destination"} as predicted (${observedCount} hop(s) observed); the destination itself refused the connection — nothing listens on ${port === undefined ? "it" : `port ${port}`}?${endpointText}`;
  else if (status === "agree")
    summary = firstDisagreement
      ? `lost as predicted at ${firstDisagreement.node ?? "?"}: ${firstDisagreement.predicted} (probe ${observation.outcome})`
      : `${path.outcome} as predicted (probe ${observation.outcome}, ${observedCount} hop(s) observed)${endpointText}`;
  else if (status === "inconclusive")
    summary = silent
      ? `${firstDisagreement?.node ?? "a node"} did not report: nothing is known past it (probe ${observation.outcome})`
      : `probe ${observation.outcome}, predicted ${path.outcome}; no node reported the packet`;
  else
    summary = `predicted ${path.outcome}, observed ${observation.outcome}${
      firstDisagreement
        ? `: first disagreement at ${firstDisagreement.node ?? "?"} ${firstDisagreement.point} — ${firstDisagreement.reason}: ${firstDisagreement.observed}`
        : ""
    }${endpointText}`;
  return {
    status,
    summary,
    predicted: prediction.outcome,
    observed: observation.outcome,
    path: index,
    ...(firstDisagreement ? { firstDisagreement } : {}),
    ...(endpoint ? { endpoint } : {}),
    hops,
  };
}

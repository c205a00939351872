/**
 * Predicted vs observed, hop by hop (pure). The path compared is the one of the endpoint that
 * really answered (a different endpoint than the first predicted is no disagreement when it is one
 * of the candidates). Each predicted hop is marked observed, differs, missing, unobservable
 * (inside a pod, on a node that did not report, the outer packet without counters) or not-reached;
 * the first hop where what happened is not what the cluster means to happen is named with a reason
 * and evidence — a disagreement between prediction and observation, or a drop both agree on.
 */
import { hostPort } from "./predict-walk.ts";
import { sameIP } from "./trace-net.ts";
import {
  type DropReason,
  type Hop,
  type HopComparison,
  type HopStatus,
  isIntendedRefusal,
  type Observation,
  type ObservedNode,
  type PathOutcome,
  type PredictedPath,
  type Prediction,
  type SeenPacket,
  type TraceVerdict,
} from "./trace-types.ts";

interface NodeView {
  readonly reported: boolean;
  readonly node?: ObservedNode;
  readonly entered?: SeenPacket;
  readonly left?: SeenPacket;
  readonly seen: readonly SeenPacket[];
}

/**
 * What a node saw of the packet at this hop: its packet lines in the hop's direction that carry
 * the hop's addresses (before or after the hop's rewrite) — a node the path crosses twice (a
 * NodePort that DNATs back to a pod on the sender's node) shows each visit under its own addresses.
 */
function viewOf(observation: Observation, h: Hop): NodeView {
  const o = observation.nodes.find((n) => n.node === h.node);
  if (!o?.reported) return { reported: false, seen: [] };
  const forms = [h.packet, ...(h.before ? [h.before] : [])];
  const seen = o.packets.filter(
    (p) =>
      p.direction === h.direction &&
      forms.some((f) => sameIP(p.packet.dst, f.dst) || sameIP(p.packet.src, f.src)),
  );
  const entered = seen.find((p) => p.hook === "prerouting" || p.hook === "output");
  const left =
    seen.find((p) => p.hook === "postrouting-after-nat") ?? seen.find((p) => p.hook === "postrouting");
  return {
    reported: true,
    node: o,
    seen,
    ...(entered ? { entered } : {}),
    ...(left ? { left } : {}),
  };
}

function choosePath(prediction: Prediction, observation: Observation): number {
  const endpoint = observation.endpoint;
  if (endpoint) {
    const i = prediction.paths.findIndex((p) => p.endpoint && sameIP(p.endpoint.ip, endpoint.ip));
    if (i >= 0) return i;
  }
  return 0;
}

type Status = { status: HopStatus; note?: string };

function hopStatus(h: Hop, observation: Observation, path: PredictedPath): Status {
  if (h.pod && h.point === "from-pod") return { status: "unobservable", note: "inside the pod (not traced)" };
  if (!h.node) return { status: "unobservable" };
  const v = viewOf(observation, h);
  if (!v.reported) return { status: "unobservable", note: `${h.node} did not report` };
  const some = v.seen.length > 0;
  switch (h.point) {
    case "from-pod":
    case "from-host":
    case "bridge":
    case "from-overlay":
    case "from-network": {
      if (h.layer === "l2") {
        if (!v.left)
          return some ? { status: "missing", note: "not seen leaving the bridge" } : { status: "missing" };
        const l2 = v.entered?.ttl !== undefined && v.left.ttl === v.entered.ttl;
        return l2
          ? { status: "observed" }
          : { status: "differs", note: `routed (ttl ${v.entered?.ttl} → ${v.left.ttl}), predicted bridged` };
      }
      if (!v.entered) return { status: "missing" };
      if (h.iif && v.entered.iif && h.iif !== v.entered.iif)
        return { status: "differs", note: `arrived on ${v.entered.iif}, predicted ${h.iif}` };
      return { status: "observed" };
    }
    case "service-dnat": {
      const dnat = v.node?.dnat;
      if (!dnat) return some ? { status: "missing", note: "no DNAT rule fired" } : { status: "missing" };
      const to = dnat.to;
      if (to && path.endpoint && !sameIP(to.ip, path.endpoint.ip))
        return { status: "differs", note: `DNAT to ${hostPort(to.ip, to.port)}, not a predicted candidate` };
      return { status: "observed", ...(to ? { note: `DNAT to ${hostPort(to.ip, to.port)}` } : {}) };
    }
    case "service-reject": {
      const drop = v.node?.drops.find((d) => /reject/.test(d.rule) || /reject/.test(d.chain));
      if (drop) return { status: "observed", note: `${drop.chain}: ${drop.rule}` };
      return v.left
        ? { status: "differs", note: `not rejected: left by ${v.left.oif ?? "?"}` }
        : { status: "missing" };
    }
    case "fib": {
      if (!v.left) return some ? { status: "missing", note: "not seen leaving" } : { status: "missing" };
      if (h.oif && v.left.oif && h.oif !== v.left.oif)
        return { status: "differs", note: `left by ${v.left.oif}, predicted ${h.oif}` };
      if (h.ttl !== undefined && v.left.ttl !== undefined && h.ttl !== v.left.ttl)
        return { status: "differs", note: `ttl ${v.left.ttl}, predicted ${h.ttl}` };
      return { status: "observed" };
    }
    case "masquerade": {
      const snat = v.node?.snat;
      if (!snat)
        return v.left
          ? { status: "missing", note: `source stayed ${v.left.packet.src}` }
          : { status: "missing" };
      return sameIP(snat.ip, h.packet.src)
        ? { status: "observed" }
        : { status: "differs", note: `masqueraded to ${snat.ip}, predicted ${h.packet.src}` };
    }
    case "un-nat": {
      const match = v.seen.some(
        (p) => sameIP(p.packet.src, h.packet.src) && sameIP(p.packet.dst, h.packet.dst),
      );
      return match
        ? { status: "observed" }
        : some
          ? { status: "missing" }
          : { status: "missing", note: "no reply seen" };
    }
    case "to-overlay": {
      const outer = h.vxlan?.outerDst;
      const counter = v.node?.vxlan.find((c) => c.name === `vxlan-out ${outer}`);
      if (!counter)
        return v.left?.oif === h.oif
          ? { status: "observed" }
          : { status: "unobservable", note: "no VXLAN counter" };
      return counter.packets > 0
        ? { status: "observed", note: `vxlan-out ${outer}: ${counter.packets} packet(s)` }
        : { status: "missing", note: `vxlan-out ${outer}: 0 packets` };
    }
    case "underlay":
      return { status: "unobservable", note: "on the wire (the next node's arrival proves it)" };
    case "to-pod":
    case "to-network":
      if (v.left) return { status: "observed" };
      return some ? { status: "missing", note: "not seen leaving" } : { status: "missing" };
    case "to-host":
      return v.entered ? { status: "observed" } : { status: "missing" };
    case "drop": {
      if (observation.outcome === "answered")
        return {
          status: "differs",
          note: `not lost: the probe was answered (${h.node}'s state may have changed after its facts were read — agents repair drift)`,
        };
      const od = observation.drop;
      if (od && od.node === h.node) return { status: "observed", note: od.message };
      if (h.route?.dev && v.left && v.left.oif === h.route.dev)
        return {
          status: "observed",
          note: `left by ${v.left.oif} as the route says, and was not seen again`,
        };
      if (v.left) return { status: "differs", note: `left by ${v.left.oif ?? "?"}` };
      return v.entered ? { status: "observed", note: "entered and never left" } : { status: "missing" };
    }
    default: {
      const never: never = h.point;
      throw new Error(`unhandled observation point ${JSON.stringify(never)}`);
    }
  }
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

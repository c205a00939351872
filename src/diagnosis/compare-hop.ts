/**
 * One predicted hop against what its node saw (pure): observed, differs, missing or unobservable,
 * with a note — by the packets the node's hooks showed entering and leaving, its DNAT, masquerade,
 * drops and VXLAN counters.
 */
import { unhandled } from "../base/unhandled.ts";
import { sameIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { Observation, ObservedNode, SeenPacket } from "./observation-types.ts";
import type { Hop, PredictedPath } from "./prediction-types.ts";
import type { HopStatus } from "./trace-types.ts";

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

export type Status = { status: HopStatus; note?: string };

export function hopStatus(h: Hop, observation: Observation, path: PredictedPath): Status {
  if (h.pod && h.point === "from-pod") return { status: "unobservable", note: "inside the pod (not traced)" };
  if (!h.node) return { status: "unobservable" };
  if (h.unobservable !== undefined && h.point !== "drop")
    return { status: "unobservable", note: h.unobservable };
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
      // Lost inside the pod (e.g. its ARP request unanswered): no node may see the packet.
      if (h.pod)
        return some
          ? { status: "differs", note: `it left the pod: ${h.node} saw it` }
          : { status: "observed", note: "no node saw it: it never left the pod" };
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
    default:
      return unhandled(h.point, (shown) => new Error(`unhandled observation point ${shown}`));
  }
}

/**
 * What really happened to the probe (pure): the agents' `nft monitor trace` events, conntrack
 * entries and VXLAN counters, and the probe's own result, stitched into one story per direction.
 *
 * Stitching is by 5-tuple, never by nft's trace id (research §7 pitfall 4: the id changes between
 * prerouting and forward on routed packets and recurs for other packets). The flow starts as the
 * probe's tuple; every conntrack entry whose original tuple is one of the flow's adds its reply
 * tuple and the forms in between (after DNAT, before masquerade), so the packet is recognised
 * under every address it takes on every node. The trace id is used only inside one node and one
 * hook traversal, to tie a rule line to the packet line before it (that is what nft prints).
 */
import type { NodeObservation, ProbeResult } from "../cluster/diagnosis-protocol.ts";
import { sameIP } from "../ipnet/address.ts";
import type { Observation, ObservedHop } from "./observation-types.ts";
import { stitch } from "./observe-flow.ts";
import { hopsOf, localsOf } from "./observe-hops.ts";
import { observeNode } from "./observe-node.ts";
import type { TracePlan } from "./trace-plan.ts";

export { serviceOfChain } from "./observe-node.ts";

/** Finds the endpoint the echo answer names among the candidates ("node3-b" → default/node3-b). */
function echoPod(plan: TracePlan, name: string, ip: string): string | undefined {
  const byIp = plan.candidates.find((c) => sameIP(c.ip, ip));
  if (byIp?.pod) return byIp.pod;
  const byName = plan.candidates.find((c) => c.pod?.split("/")[1] === name);
  if (byName?.pod) return byName.pod;
  if (plan.destination.kind === "pod")
    return `${plan.destination.pod.namespace}/${plan.destination.pod.name}`;
  return name;
}

export function observeTrace(
  plan: TracePlan,
  observations: readonly NodeObservation[],
  probe: ProbeResult | undefined,
): Observation {
  const flow = stitch(plan, observations, probe);
  const sourceNode = plan.spec.source.kind === "external" ? undefined : plan.spec.source.node;
  const stories = observations.map((o) => observeNode(plan, o, flow));
  stories.sort((a, b) =>
    a.node.node === sourceNode ? -1 : b.node.node === sourceNode ? 1 : a.firstAt - b.firstAt,
  );
  const nodes = stories.map((s) => s.node);
  const silent = plan.request.nodes.filter((n) => !observations.some((o) => o.node === n));
  const locals = localsOf(plan);
  const cidrs = plan.clusterCidrs;
  const hops: ObservedHop[] = [];
  let drop: Observation["drop"];
  for (const direction of ["forward", "reply"] as const) {
    const order = direction === "forward" ? nodes : [...nodes].reverse();
    for (const node of order) {
      const r = hopsOf(plan, node, direction, locals, cidrs);
      hops.push(...r.hops);
      if (r.vanished && !drop) drop = { ...r.vanished, direction };
    }
  }

  // The endpoint that answered and the source it saw.
  const dnatNode = nodes.find((n) => n.dnat);
  let endpoint: Observation["endpoint"];
  if (probe?.echo && plan.candidates.length > 0) {
    const pod = echoPod(plan, probe.echo.pod, probe.echo.ip);
    endpoint = { ip: probe.echo.ip, ...(pod ? { pod } : {}), how: "echo" };
  } else if (dnatNode?.dnat?.to) {
    const to = dnatNode.dnat.to;
    const pod = plan.candidates.find((c) => sameIP(c.ip, to.ip))?.pod;
    endpoint = {
      ip: to.ip,
      ...(to.port !== undefined ? { port: to.port } : {}),
      ...(pod ? { pod } : {}),
      how: "trace",
    };
  }
  let sourceSeen: Observation["sourceSeen"];
  if (probe?.echo) sourceSeen = { ip: probe.echo.from, port: probe.echo.fromPort, how: "echo" };
  else {
    const snatNode = nodes.find((n) => n.snat);
    if (snatNode?.snat)
      sourceSeen = {
        ip: snatNode.snat.ip,
        ...(snatNode.snat.port !== undefined ? { port: snatNode.snat.port } : {}),
        how: snatNode.snat.how === "observer" ? "observer" : "conntrack",
      };
    else {
      // The destination's own node saw what it got (delivered hops only: a lost packet was seen by no one).
      const last = [...hops].reverse().find((h) => h.direction === "forward");
      if (last && (last.point === "to-pod" || last.point === "to-host" || last.point === "to-network"))
        sourceSeen = {
          ip: last.packet.src,
          ...(last.packet.sport !== undefined ? { port: last.packet.sport } : {}),
          how: "trace",
        };
    }
  }
  if (!drop && probe && (probe.outcome === "timeout" || probe.outcome === "unreachable")) {
    const lastForward = [...hops].reverse().find((h) => h.direction === "forward");
    drop = {
      direction: "forward",
      reason: "timeout",
      ...(lastForward ? { node: lastForward.node } : {}),
      message: lastForward
        ? `the probe got no answer (${probe.outcome}); the last place the packet was seen is ${lastForward.node} (${lastForward.point})`
        : `the probe got no answer (${probe.outcome}) and no node saw the packet`,
      evidence: probe.error ? [probe.error] : [],
    };
  }
  return {
    probed: probe !== undefined,
    ...(probe ? { probe } : {}),
    outcome: probe?.outcome ?? "not-probed",
    nodes: [
      ...nodes,
      ...silent.map((node) => ({
        node,
        reported: false,
        packets: [],
        drops: [],
        conntrack: [],
        vxlan: [],
        sysctls: {},
        errors: [],
      })),
    ],
    hops,
    ...(endpoint ? { endpoint } : {}),
    ...(sourceSeen ? { sourceSeen } : {}),
    ...(drop ? { drop } : {}),
    silent,
  };
}

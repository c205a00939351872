/**
 * The BGP claims `lab check` proves in a lab with the bgp backend, as pure judgements over what
 * was observed (bgp-check.ts gathers it: the router's kernel table and its BIRD's routes, the
 * nodes' links and routes, echo replies, timings). Each verdict is unit-tested, ✓ and ✗ alike.
 */
import { sameIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { LearnedRoute } from "../linux/bird-status-parse.ts";
import type { PairProbe, ProbeOutcome, Verdict } from "./claims.ts";
import { reachWithoutNat } from "./claims.ts";

/** A node as the BGP claims see it: its address and its blocks of the family checked. */
export interface BgpNodeView {
  readonly name: string;
  /** The node's underlay address of the family (bare). */
  readonly ip: string;
  readonly blocks: readonly string[];
}

/** A route of the router's kernel (`ip -j route show`): one next hop, or several. */
export interface KernelRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly nexthops?: readonly { readonly gateway?: string; readonly dev?: string }[];
}

const samePrefix = (a: string, b: string): boolean => {
  try {
    return formatPrefix(parsePrefix(a)) === formatPrefix(parsePrefix(b));
  } catch {
    return false;
  }
};

const gatewaysOf = (r: KernelRoute): string[] =>
  r.nexthops ? r.nexthops.flatMap((h) => (h.gateway ? [h.gateway] : [])) : r.gateway ? [r.gateway] : [];

export const ROUTER_TABLE_CLAIM =
  "the router's table holds every node's block via that node's IP, installed by BIRD and learned over BGP from that node";

/**
 * Claim 1: for every block of every node, the router's kernel has a route installed by BIRD
 * (proto bird) with that node's IP as its only next hop, and BIRD's selected route for it came
 * from a BGP session with that node as BGP next hop.
 */
export function routerHoldsBlocks(
  nodes: readonly BgpNodeView[],
  kernel: readonly KernelRoute[],
  bird: readonly LearnedRoute[],
): Verdict {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const node of nodes) {
    if (node.blocks.length === 0) problems.push(`${node.name} has no block to announce`);
    for (const block of node.blocks) {
      const route = kernel.find((r) => samePrefix(r.dst, block));
      if (!route) {
        problems.push(`no route to ${node.name}'s ${block} in the router's kernel`);
        continue;
      }
      const via = gatewaysOf(route);
      if (route.protocol !== "bird")
        problems.push(`${block} is in the router's kernel as proto ${route.protocol ?? "?"}, not bird`);
      if (via.length !== 1 || !sameIP(via[0] as string, node.ip))
        problems.push(
          `${block} goes via ${via.join(",") || "no gateway"}, not via ${node.name} (${node.ip})`,
        );
      const learned = bird.find((r) => r.primary && samePrefix(r.prefix, block));
      if (!learned) {
        problems.push(`the router's BIRD has no selected route for ${block}`);
        continue;
      }
      if (learned.bgpNextHop === undefined || !sameIP(learned.bgpNextHop, node.ip))
        problems.push(
          `BIRD's route for ${block} (${learned.protocol}) has BGP next hop ${learned.bgpNextHop ?? "none"}, not ${node.name} (${node.ip})`,
        );
      else seen.push(`${block} via ${node.ip} (${node.name}, ${learned.protocol})`);
    }
  }
  if (nodes.length === 0) problems.push("no node to check");
  return {
    ok: problems.length === 0,
    claim: ROUTER_TABLE_CLAIM,
    evidence: problems.length ? problems.join("; ") : `proto bird: ${seen.join(", ")}`,
  };
}

/** What one node's kernel says about the path to a pod on another segment. */
export interface NodePathFact {
  readonly node: string;
  /** VXLAN devices (podnet-vx…) the node holds; none in a bgp lab. */
  readonly vxlanDevices: readonly string[];
  /** `ip route get` of each remote pod IP: the device it leaves by. */
  readonly routes: readonly { readonly dst: string; readonly dev: string | undefined }[];
}

export const NATIVE_PATH_CLAIM =
  "pods on different segments reach each other without any VXLAN device on the path, and the receiver sees the sender's pod IP";
/** The same claim in a lab whose nodes share one segment. */
export const NATIVE_PATH_ONE_SEGMENT_CLAIM =
  "pods on different nodes reach each other without any VXLAN device on the path, and the receiver sees the sender's pod IP";

/**
 * Claim 2: no node holds a VXLAN device, every node sends the other segment's pods out of its
 * uplink (eth0), and every probe across segments arrives with the sender's pod IP.
 */
export function nativeCrossSegment(
  facts: readonly NodePathFact[],
  probes: readonly PairProbe[],
  uplink = "eth0",
  claim = NATIVE_PATH_CLAIM,
): Verdict {
  const problems: string[] = [];
  for (const f of facts) {
    if (f.vxlanDevices.length > 0) problems.push(`${f.node} holds ${f.vxlanDevices.join(", ")}`);
    for (const r of f.routes)
      if (r.dev !== uplink)
        problems.push(`${f.node} sends ${r.dst} via ${r.dev ?? "no route"}, not ${uplink}`);
  }
  if (probes.length === 0) problems.push("no two pods to probe");
  const reach = reachWithoutNat(claim, probes);
  if (!reach.ok) problems.push(reach.evidence);
  const routes = facts.reduce((n, f) => n + f.routes.length, 0);
  return {
    ok: problems.length === 0,
    claim,
    evidence: problems.length
      ? problems.join("; ")
      : `no VXLAN device on ${facts.length} nodes, ${routes} routes via ${uplink}; ${reach.evidence}`,
  };
}

export const VPC_CLAIM =
  "the VM reaches pods by their pod IP and the pods see the VM's own address (no NAT inside the VPC), while the external host sees the node IP";

/**
 * Claim 3: the VM's connections to pods arrive from the VM's address, pods' connections to the
 * VM arrive from their pod IP (the VPC is exempt from masquerade), and a pod's connection to
 * the external host still arrives from its node's IP.
 */
export function vpcWithoutNat(
  vmToPods: readonly PairProbe[],
  podsToVm: readonly PairProbe[],
  external: { readonly pod: string; readonly nodeIps: readonly string[]; readonly outcome: ProbeOutcome },
): Verdict {
  const problems: string[] = [];
  const inbound = reachWithoutNat(VPC_CLAIM, vmToPods);
  if (!inbound.ok) problems.push(`VM → pods: ${inbound.evidence}`);
  const outbound = reachWithoutNat(VPC_CLAIM, podsToVm);
  if (!outbound.ok) problems.push(`pods → VM: ${outbound.evidence}`);
  let seenExternal = "?";
  if (external.outcome.kind === "error")
    problems.push(`${external.pod} → external: ${external.outcome.message}`);
  else {
    seenExternal = external.outcome.probe.reply.from;
    if (!external.nodeIps.some((ip) => sameIP(ip, seenExternal)))
      problems.push(
        `the external host saw ${external.pod} as ${seenExternal}, not as its node (${external.nodeIps.join("/")})`,
      );
  }
  return {
    ok: problems.length === 0,
    claim: VPC_CLAIM,
    evidence: problems.length
      ? problems.join("; ")
      : `VM → pods: ${inbound.evidence}; pods → VM: ${outbound.evidence}; the external host saw ${external.pod} as ${seenExternal} (its node)`,
  };
}

/** One node's agent stopped and started again, as observed from the router. */
export interface WithdrawalObservation {
  readonly node: string;
  readonly blocks: readonly string[];
  readonly holdSeconds: number;
  /** The blocks were in the router's table before the stop. */
  readonly presentBefore: boolean;
  /** From SIGTERM to the last block gone from the router's kernel; undefined: still there at the deadline. */
  readonly goneMs: number | undefined;
  /** The node's BIRD was gone with its agent. */
  readonly birdStopped: boolean;
  /** From the agent's new start to every block back in the router's kernel; undefined: not back. */
  readonly backMs: number | undefined;
  /** What went wrong on the way (a step that failed), if anything. */
  readonly failure?: string;
}

export const WITHDRAWAL_CLAIM =
  "a node's agent stopped (its BIRD with it) → its block leaves the router within the hold time; restarted → the block comes back";

/** Claim 4, measured: withdrawal within the hold time, and the return after a restart. */
export function withdrawnAndRestored(o: WithdrawalObservation): Verdict {
  const problems: string[] = [];
  if (o.failure) problems.push(o.failure);
  if (!o.presentBefore)
    problems.push(`${o.node}'s ${o.blocks.join(",")} was not in the router's table before the stop`);
  if (o.goneMs === undefined) problems.push(`${o.node}'s ${o.blocks.join(",")} stayed in the router's table`);
  else if (o.goneMs > o.holdSeconds * 1000)
    problems.push(
      `${o.node}'s block left the router after ${o.goneMs} ms, more than the hold time (${o.holdSeconds} s)`,
    );
  if (!o.birdStopped) problems.push(`${o.node}'s BIRD kept running after its agent stopped`);
  if (o.backMs === undefined) problems.push(`${o.node}'s block did not come back after its agent restarted`);
  return {
    ok: problems.length === 0,
    claim: WITHDRAWAL_CLAIM,
    evidence: problems.length
      ? problems.join("; ")
      : `${o.node} (${o.blocks.join(",")}): gone from the router ${o.goneMs} ms after SIGTERM (hold time ${o.holdSeconds} s), its BIRD stopped with it; back ${o.backMs} ms after the agent's restart`,
  };
}

/**
 * `podnet trace`'s prediction (pure): the hops a probe will take, forward and back, from the
 * datastore snapshot and each node's kernel facts (its answers to the planned route lookups, its
 * routes, neighbour and FDB entries, nft sets, sysctls). A Service destination gives one path per
 * candidate endpoint. No traffic is needed: `--no-probe` shows this alone.
 */

import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { sameIP } from "../ipnet/address.ts";
import { hostPort } from "../ipnet/host-port.ts";
import { proxyTableName, proxyTableOf } from "../linux/nft-table-family.ts";
import { NAMES } from "../proxy/nft-names.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { findRoute } from "./predict-route.ts";
import { type At, type WalkContext, type WalkEnd, type WalkState, walk } from "./predict-walk.ts";
import type { Hop, PacketHeader, PathOutcome, PredictedPath, Prediction } from "./prediction-types.ts";
import { deviceAddresses, factsOf, familyOf, nodeByAddress, nodeByNodeIP } from "./trace-net.ts";
import type { TracePlan } from "./trace-plan.ts";

const INITIAL_TTL = 64;

function state(at: At, packet: PacketHeader, ttl: number | undefined, hops: Hop[] = []): WalkState {
  return {
    direction: "forward",
    at,
    packet,
    ...(ttl !== undefined ? { ttl } : {}),
    hops,
    nat: [],
    marked: false,
    dnatted: false,
    steps: 0,
  };
}

/** The node's own source address for `dst`: the route's preferred source, else its device's first address. */
function nodeSource(facts: NodeFacts | undefined, dst: string, fallback: string): string {
  if (!facts) return fallback;
  const { route } = findRoute(facts, { dst });
  if (route?.src) return route.src;
  const dev = route?.dev ?? facts.agent.uplink;
  return deviceAddresses(facts, dev, familyOf(dst))[0] ?? fallback;
}

function start(ctx: WalkContext, plan: TracePlan): WalkState | undefined {
  const spec = plan.spec;
  const dst = spec.destination.ip;
  const ports = {
    ...(spec.sourcePort !== undefined ? { sport: spec.sourcePort } : {}),
    ...(spec.destination.port !== undefined ? { dport: spec.destination.port } : {}),
  };
  const source = plan.source;
  switch (source.kind) {
    case "pod":
      return state(
        { kind: "pod", pod: source.pod },
        { proto: spec.proto, src: source.ip, dst, ...ports },
        INITIAL_TTL,
      );
    case "node": {
      const node = source.node.name;
      const facts = factsOf(ctx.facts, node);
      // A ClusterIP is routed like any address before DNAT (the output route picks the source).
      const src = nodeSource(facts, dst, source.ip);
      const packet: PacketHeader = { proto: spec.proto, src, dst, ...ports };
      const first: Hop = {
        direction: "forward",
        point: "from-host",
        node,
        where: `${node} (host)`,
        description: `${node} sends from its own namespace, source ${src}`,
        packet,
        ttl: INITIAL_TTL,
        evidence: [],
        commands: [{ node, command: `ip route get ${dst}` }],
      };
      return state({ kind: "node", node, arrival: "local" }, packet, INITIAL_TTL, [first]);
    }
    case "external": {
      const entry =
        plan.destination.kind === "node-port"
          ? (plan.destination.node ?? nodeByNodeIP(ctx.snapshot, dst))
          : nodeByAddress(ctx.snapshot, dst);
      if (!entry) {
        ctx.unknowns.push(
          `${source.ip} is outside the cluster: how it reaches ${dst} depends on routes podnet does not manage`,
        );
        return undefined;
      }
      const facts = factsOf(ctx.facts, entry.name);
      const iif = facts?.agent.uplink ?? "eth0";
      return state(
        { kind: "node", node: entry.name, iif, arrival: "network" },
        { proto: spec.proto, src: source.ip, dst, ...ports },
        undefined,
      );
    }
    case "service":
    case "node-port":
      return undefined;
    default: {
      const never: never = source;
      throw new Error(`unhandled source ${JSON.stringify(never)}`);
    }
  }
}

function reversed(p: PacketHeader): PacketHeader {
  return {
    proto: p.proto,
    src: p.dst,
    dst: p.src,
    ...(p.dport !== undefined ? { sport: p.dport } : {}),
    ...(p.sport !== undefined ? { dport: p.sport } : {}),
  };
}

/** Where the answer starts: the pod or node that got the packet, or the node that refused it. */
function replyStart(ctx: WalkContext, end: WalkEnd, original: PacketHeader): WalkState | undefined {
  const base = {
    direction: "reply" as const,
    hops: [],
    nat: end.nat,
    marked: false,
    dnatted: true,
    steps: 0,
  };
  const packet = reversed(end.packet);
  switch (end.outcome) {
    case "delivered": {
      if (end.at.kind === "pod") return { ...base, at: end.at, packet, ttl: INITIAL_TTL };
      if (end.at.kind === "node") {
        const node = end.at.node;
        const first: Hop = {
          direction: "reply",
          point: "from-host",
          node,
          where: `${node} (host)`,
          description: `${node} answers from its own namespace`,
          packet,
          ttl: INITIAL_TTL,
          evidence: [],
          commands: [],
        };
        return {
          ...base,
          at: { kind: "node", node, arrival: "local" },
          packet,
          ttl: INITIAL_TTL,
          hops: [first],
        };
      }
      return undefined;
    }
    case "left-cluster": {
      if (end.at.kind !== "external" || !end.at.node) return undefined;
      const facts = factsOf(ctx.facts, end.at.node);
      const iif = end.at.dev ?? facts?.agent.uplink ?? "eth0";
      return { ...base, at: { kind: "node", node: end.at.node, iif, arrival: "network" }, packet };
    }
    case "refused": {
      const node = end.drop?.node;
      if (!node) return undefined;
      const answer = reversed(original.dst === end.packet.dst ? end.packet : original);
      const kind = end.packet.proto === "tcp" ? "a TCP reset" : "an ICMP port unreachable";
      const nodeFacts = factsOf(ctx.facts, node);
      const rejectTable = nodeFacts
        ? proxyTableOf(nodeFacts.nft, familyOf(answer.src))
        : proxyTableName(familyOf(answer.src));
      const first: Hop = {
        direction: "reply",
        point: "from-host",
        node,
        where: `${node} reject-service`,
        description: `${node} answers with ${kind} from ${hostPort(answer.src, answer.sport)}`,
        packet: answer,
        ttl: INITIAL_TTL,
        evidence: [],
        commands: [{ node, command: `nft list chain ${rejectTable} ${NAMES.reject}` }],
      };
      return {
        ...base,
        at: { kind: "node", node, arrival: "local" },
        packet: answer,
        ttl: INITIAL_TTL,
        hops: [first],
      };
    }
    case "dropped":
    case "unknown":
      return undefined;
    default: {
      const never: never = end.outcome;
      throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
    }
  }
}

function pathOf(ctx: WalkContext, end: WalkEnd, original: PacketHeader): PredictedPath {
  const startReply = replyStart(ctx, end, original);
  const replyEnds = startReply ? walk(ctx, startReply) : [];
  const reply = replyEnds[0];
  let outcome: PathOutcome = end.outcome;
  let drop = end.drop;
  if (reply && (reply.outcome === "dropped" || reply.outcome === "unknown") && outcome !== "refused") {
    outcome = reply.outcome;
    drop = reply.drop;
  }
  const lastForward = [...end.hops]
    .reverse()
    .find((h) => h.point === "to-pod" || h.point === "to-host" || h.point === "to-network");
  const seen = lastForward?.packet;
  return {
    ...(end.endpoint ? { endpoint: end.endpoint } : {}),
    forward: end.hops,
    reply: reply?.hops ?? [],
    outcome,
    ...(drop ? { drop } : {}),
    ...(seen && (end.outcome === "delivered" || end.outcome === "left-cluster")
      ? {
          sourceSeen: {
            ip: seen.src,
            ...(seen.sport !== undefined ? { port: seen.sport } : {}),
            translated: !sameIP(seen.src, original.src),
          },
        }
      : {}),
  };
}

export function predictTrace(
  snapshot: ClusterSnapshot,
  facts: readonly NodeFacts[],
  plan: TracePlan,
): Prediction {
  const ctx: WalkContext = { snapshot, facts, unknowns: [], walk: (w) => walk(ctx, w) };
  for (const node of plan.request.nodes)
    if (!factsOf(facts, node)) ctx.unknowns.push(`${node} did not report its kernel state`);
  const first = start(ctx, plan);
  if (!first) return { paths: [], outcome: "unknown", candidates: plan.candidates, unknowns: ctx.unknowns };
  const ends = walk(ctx, first);
  const paths = ends.map((end) => pathOf(ctx, end, first.packet));
  const outcomes = [...new Set(paths.map((p) => p.outcome))];
  const candidates = ends.find((e) => e.candidates)?.candidates ?? plan.candidates;
  return {
    paths,
    outcome: outcomes.length === 1 ? (outcomes[0] ?? "unknown") : "partial",
    candidates,
    unknowns: [...new Set(ctx.unknowns)],
  };
}

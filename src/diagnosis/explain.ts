/**
 * `podnet explain ADDRESS[:PORT]` (pure): what the address is — every kind that applies — who gave
 * it out, how every node reaches it, whether every node's kernel agrees, the conntrack flows naming
 * it, and the drift that concerns it. The caller passes the snapshot, the facts every agent
 * reported, the nodes that did not answer, and `now`.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import { canonicalIP, sameIP } from "../ipnet/address.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { findDrift } from "./drift.ts";
import { relevantDrift } from "./drift-relevance.ts";
import { explainBlockAddress } from "./explain-block.ts";
import type { ExplainContext, Finding } from "./explain-context.ts";
import { explainNodeIP, explainOutside } from "./explain-node.ts";
import { endpointChecks, endpointUses, explainNodePort, explainServiceAddress } from "./explain-service.ts";
import { type ConntrackSummary, EXPLAIN_SCHEMA, type Explanation, type FibDecision } from "./explanation.ts";
import { routeText, tupleText } from "./fact-text.ts";
import { splitHostPort, TargetError } from "./target.ts";

export interface ExplainQuery {
  readonly ip: string;
  readonly port?: number;
}

export class ExplainQueryError extends Error {
  override readonly name = "ExplainQueryError";
  constructor(
    readonly text: string,
    readonly reason: string,
  ) {
    super(`Cannot explain "${text}": ${reason}`);
  }
}

/** "10.244.1.2", "192.0.2.11:30080", "[2001:db8::1]:80", "2001:db8::1"; the address canonical. */
export function parseExplainQuery(text: string): ExplainQuery {
  let parts: { host: string; port?: number };
  try {
    parts = splitHostPort(text.trim());
  } catch (e) {
    if (e instanceof TargetError) throw new ExplainQueryError(text, e.reason);
    throw e;
  }
  const ip = canonicalIP(parts.host);
  if (ip === undefined) throw new ExplainQueryError(text, `"${parts.host}" is not an IPv4 or IPv6 address`);
  return parts.port === undefined ? { ip } : { ip, port: parts.port };
}

function conntrackOf(facts: readonly NodeFacts[], query: ExplainQuery): ConntrackSummary {
  const names = (t: { src: string; dst: string; sport?: number; dport?: number }) =>
    (sameIP(t.src, query.ip) && (query.port === undefined || t.sport === query.port)) ||
    (sameIP(t.dst, query.ip) && (query.port === undefined || t.dport === query.port));
  const flows: ConntrackSummary["flows"][number][] = [];
  const perNode: Record<string, number> = {};
  for (const f of facts) {
    for (const c of f.conntrack) {
      if (!names(c.original) && !names(c.reply)) continue;
      perNode[f.node] = (perNode[f.node] ?? 0) + 1;
      flows.push({
        node: f.node,
        proto: c.proto,
        ...(c.state ? { state: c.state } : {}),
        original: tupleText(c.original),
        reply: tupleText(c.reply),
        flags: c.flags,
        timeoutSeconds: c.timeoutSeconds,
      });
    }
  }
  return { total: flows.length, perNode, flows };
}

function fibOf(facts: readonly NodeFacts[], ip: string): FibDecision[] {
  return facts.flatMap((f) =>
    f.routeLookups
      .filter((l) => sameIP(l.query.dst, ip) && l.query.from === undefined && l.query.iif === undefined)
      .map((l) => ({
        node: f.node,
        ...(l.route ? { route: routeText(l.route) } : {}),
        ...(l.error !== undefined ? { error: l.error } : {}),
        command: `ip route get ${ip}`,
      })),
  );
}

export function explainAddress(
  snapshot: ClusterSnapshot,
  facts: readonly NodeFacts[],
  query: ExplainQuery,
  now: Date,
  missing: readonly { node: string; reason: string }[] = [],
): Explanation {
  const ip = canonicalIP(query.ip);
  if (ip === undefined) throw new ExplainQueryError(query.ip, "not an IPv4 or IPv6 address");
  const ctx: ExplainContext = {
    snapshot,
    facts,
    ip,
    ...(query.port !== undefined ? { port: query.port } : {}),
    now,
  };
  const findings: Finding[] = [];
  const block = explainBlockAddress(ctx);
  const service = explainServiceAddress(ctx);
  const node = explainNodeIP(ctx);
  const nodePort = explainNodePort(ctx);
  for (const f of [block, service, node, nodePort]) if (f) findings.push(f);
  if (!block && !service && !node) findings.push(explainOutside(ctx));
  const kinds = findings.flatMap((f) => f.kinds);
  const isPod = kinds.includes("pod");
  const pick = <K extends keyof Finding>(key: K): Finding[K] | undefined =>
    findings.find((f) => f[key] !== undefined)?.[key];
  const subjects = findings.flatMap((f) => f.subjects ?? []);
  const all = findDrift(snapshot, facts, missing);
  const relevant = relevantDrift(all, { addresses: [ip], subjects });
  const provenance = findings.map((f) => f.provenance).find((p) => p !== undefined) ?? {};
  const parts = {
    pod: pick("pod"),
    gateway: pick("gateway"),
    vtep: pick("vtep"),
    nodeIP: pick("nodeIP"),
    bgp: pick("bgp"),
    service: pick("service"),
    nodePort: pick("nodePort"),
    free: pick("free"),
    egress: pick("egress"),
  };
  const conntrack = conntrackOf(facts, { ip, ...(query.port !== undefined ? { port: query.port } : {}) });
  const stale =
    kinds.includes("free") && conntrack.total > 0
      ? [
          `${conntrack.total} stale conntrack flow${conntrack.total === 1 ? "" : "s"} still name${conntrack.total === 1 ? "s" : ""} it`,
        ]
      : [];
  const defined = Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined));
  return {
    schema: EXPLAIN_SCHEMA,
    query: query.port === undefined ? { ip } : { ip, port: query.port },
    now: now.toISOString(),
    snapshot: { store: snapshot.store, revision: snapshot.revision, readAt: snapshot.readAt },
    nodes: facts.map((f) => f.node),
    kinds,
    summary: [...findings.flatMap((f) => f.summary), ...stale].join("; "),
    provenance,
    ...defined,
    endpointOf: isPod ? endpointUses(ctx) : [],
    routes: findings.flatMap((f) => f.routes ?? []),
    checks: [...findings.flatMap((f) => f.checks ?? []), ...(isPod ? endpointChecks(ctx) : [])],
    // A ClusterIP is DNATed to an endpoint in prerouting, before any routing decision: the FIB's
    // answer for the ClusterIP itself (the default route, or unreachable) is never used.
    fib: kinds.includes("cluster-ip") ? [] : fibOf(facts, ip),
    conntrack,
    drift: { relevant, others: all.length - relevant.length },
    missing: missing.map((m) => ({ node: m.node, reason: m.reason })),
  };
}

/**
 * Validating parsers for the diagnosis requests (diagnosis-protocol.ts; the answers: diagnosis-answers.ts).
 * A request is data from the network that ends up on command lines (`ip route get`, `nsenter`,
 * `podnet probe`) and in an nft ruleset, so every name, address, port and count in it is checked
 * here, and addresses come back in canonical form. The answers (facts, armed, probe, observed) are
 * checked in diagnosis-answers.ts.
 */
import { unhandled } from "../base/unhandled.ts";
import { namespaceProblem, podNameProblem } from "../k8s/names.ts";
import { Checker, INTERFACE_NAME } from "./diagnosis-checker.ts";
import { checkKeyId } from "./diagnosis-keys.ts";
import type {
  DiagnosisKind,
  DiagnosisRequest,
  RouteQuery,
  TraceProto,
  TraceSource,
  TraceSpec,
} from "./diagnosis-protocol.ts";
import { DIAGNOSIS_ID } from "./diagnosis-protocol.ts";

export const MAX_TRACE_PAIRS = 64;
export const MAX_TRACE_PORTS = 16;
export const MAX_REQUEST_ADDRESSES = 256;
export const MAX_REQUEST_NODES = 256;
export const MAX_ROUTE_LOOKUPS = 64;
export const MAX_VXLAN_PEERS = 256;
/** A probe may wait at most this long (the trace session itself ends after 60 s). */
export const MAX_PROBE_TIMEOUT_MS = 30_000;
export {
  parseArmedReport,
  parseNodeFacts,
  parseNodeObservation,
  parseProbeResult,
} from "./diagnosis-answers.ts";
export { INTERFACE_NAME, InvalidDiagnosisRecordError } from "./diagnosis-checker.ts";
export { type DiagnosisKeyPart, parseDiagnosisKey } from "./diagnosis-keys.ts";

export function parseDiagnosisRequest(key: string, text: string): DiagnosisRequest {
  const c = new Checker(key);
  const r = c.parse(text);
  if (typeof r.id !== "string" || !DIAGNOSIS_ID.test(r.id))
    throw c.fail("id", `must be 8–32 lowercase letters and digits, not ${JSON.stringify(r.id)}`);
  const id = r.id;
  checkKeyId(c, id);
  const kind = c.oneOf<DiagnosisKind>(r.kind, "kind", ["facts", "trace"]);
  const nodes = c.array(r.nodes, "nodes", MAX_REQUEST_NODES).map((n, i) => c.node(n, `nodes[${i}]`));
  const routeLookups = c
    .array(r.routeLookups, "routeLookups", MAX_ROUTE_LOOKUPS)
    .map((q, i) => parseRouteQuery(c, q, `routeLookups[${i}]`));
  let trace: TraceSpec | undefined;
  if (kind === "trace") {
    if (r.trace === undefined) throw c.fail("trace", "must be given for a trace request");
    trace = parseTraceSpec(c, r.trace);
  } else if (r.trace !== undefined) {
    throw c.fail("trace", "must be absent for a facts request");
  }
  return {
    id,
    kind,
    createdAt: c.string(r.createdAt, "createdAt", 64),
    requester: c.string(r.requester, "requester", 256),
    nodes,
    addresses: c.ips(r.addresses, "addresses", MAX_REQUEST_ADDRESSES),
    routeLookups,
    ...(trace !== undefined ? { trace } : {}),
  };
}

function parseRouteQuery(c: Checker, value: unknown, field: string): RouteQuery {
  const q = c.object(value, field);
  const dst = c.ip(q.dst, `${field}.dst`);
  const from = q.from === undefined ? undefined : c.ip(q.from, `${field}.from`);
  if (q.iif !== undefined && (typeof q.iif !== "string" || !INTERFACE_NAME.test(q.iif)))
    throw c.fail(
      `${field}.iif`,
      `must be an interface name (1–15 of A-Z a-z 0-9 _ . : @ -), not ${JSON.stringify(q.iif)}`,
    );
  const iif = q.iif as string | undefined;
  return { dst, ...(from !== undefined ? { from } : {}), ...(iif !== undefined ? { iif } : {}) };
}

function parseTraceSource(c: Checker, value: unknown): TraceSource {
  const s = c.object(value, "trace.source");
  const kind = c.oneOf(s.kind, "trace.source.kind", ["pod", "node", "external"] as const);
  switch (kind) {
    case "pod": {
      const nsProblem = typeof s.namespace === "string" ? namespaceProblem(s.namespace) : "must be a string";
      if (nsProblem !== undefined) throw c.fail("trace.source.namespace", nsProblem);
      const nameProblem = typeof s.name === "string" ? podNameProblem(s.name) : "must be a string";
      if (nameProblem !== undefined) throw c.fail("trace.source.name", nameProblem);
      return {
        kind,
        node: c.node(s.node, "trace.source.node"),
        namespace: s.namespace as string,
        name: s.name as string,
      };
    }
    case "node":
      return { kind, node: c.node(s.node, "trace.source.node") };
    case "external":
      return { kind, ip: c.ip(s.ip, "trace.source.ip") };
    default:
      return unhandled(kind, (shown) => c.fail("trace.source.kind", `is ${shown}`));
  }
}

function parseTraceSpec(c: Checker, value: unknown): TraceSpec {
  const t = c.object(value, "trace");
  const proto = c.oneOf<TraceProto>(t.proto, "trace.proto", ["tcp", "udp", "icmp"]);
  const source = parseTraceSource(c, t.source);
  const d = c.object(t.destination, "trace.destination");
  const destIp = c.ip(d.ip, "trace.destination.ip");
  const destPort = d.port === undefined ? undefined : c.port(d.port, "trace.destination.port");
  if (proto !== "icmp" && destPort === undefined)
    throw c.fail("trace.destination.port", `must be given for ${proto}`);
  const sourcePort = t.sourcePort === undefined ? undefined : c.port(t.sourcePort, "trace.sourcePort");
  const m = c.object(t.match, "trace.match");
  const pairs = c.array(m.pairs, "trace.match.pairs", MAX_TRACE_PAIRS).map((p, i) => {
    const field = `trace.match.pairs[${i}]`;
    const pair = c.array(p, field);
    if (pair.length !== 2) throw c.fail(field, "must be two addresses [source, destination]");
    const a = c.ip(pair[0], `${field}[0]`);
    const b = c.ip(pair[1], `${field}[1]`);
    // One nft rule matches `ip saddr A ip daddr B`: both ends must be of one family.
    if (a.includes(":") !== b.includes(":")) throw c.fail(field, "mixes IPv4 and IPv6 addresses");
    return [a, b] as const;
  });
  if (pairs.length === 0) throw c.fail("trace.match.pairs", "must name at least one address pair");
  const ports = c
    .array(m.ports, "trace.match.ports", MAX_TRACE_PORTS)
    .map((p, i) => c.port(p, `trace.match.ports[${i}]`));
  return {
    proto,
    source,
    destination: { ip: destIp, ...(destPort !== undefined ? { port: destPort } : {}) },
    ...(sourcePort !== undefined ? { sourcePort } : {}),
    match: { pairs, ports },
    vxlanPeers: c.ips(t.vxlanPeers, "trace.vxlanPeers", MAX_VXLAN_PEERS),
    probeTimeoutMs: c.integer(t.probeTimeoutMs, "trace.probeTimeoutMs", 1, MAX_PROBE_TIMEOUT_MS),
  };
}

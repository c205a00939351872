/**
 * Validating parsers for the records under `/podnet/diagnosis/ID/…` (diagnosis-protocol.ts).
 * A request is data from the network that ends up on command lines (`ip route get`, `nsenter`,
 * `podnet probe`) and in an nft ruleset, so every name, address, port and count in it is checked
 * here, and addresses come back in canonical form. The answers (facts, armed, probe, observed)
 * are only checked for the shape their readers rely on: arrays are arrays, strings are strings.
 */
import { unhandled } from "../base/unhandled.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { namespaceProblem, podNameProblem } from "../k8s/names.ts";
import type {
  ArmedReport,
  DiagnosisKind,
  DiagnosisRequest,
  NodeFacts,
  NodeObservation,
  ProbeOutcome,
  ProbeResult,
  RouteQuery,
  TraceProto,
  TraceSource,
  TraceSpec,
} from "./diagnosis-protocol.ts";
import { DIAGNOSIS_ID, DIAGNOSIS_PREFIX } from "./diagnosis-protocol.ts";
import { NODE_NAME } from "./node-record.ts";

export const MAX_TRACE_PAIRS = 64;
export const MAX_TRACE_PORTS = 16;
export const MAX_REQUEST_ADDRESSES = 256;
export const MAX_REQUEST_NODES = 256;
export const MAX_ROUTE_LOOKUPS = 64;
export const MAX_VXLAN_PEERS = 256;
/** A probe may wait at most this long (the trace session itself ends after 60 s). */
export const MAX_PROBE_TIMEOUT_MS = 30_000;
/** Interface names as the kernel allows them (IFNAMSIZ − 1), restricted to characters safe on a command line. */
export const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;

export class InvalidDiagnosisRecordError extends Error {
  override readonly name = "InvalidDiagnosisRecordError";
  constructor(
    readonly key: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Invalid diagnosis record ${key}: ${field} ${reason}`);
  }
}

export type DiagnosisKeyPart =
  | { readonly id: string; readonly part: "request" | "go" | "probe" }
  | { readonly id: string; readonly part: "facts" | "armed" | "observed"; readonly node: string };

/** What a key under DIAGNOSIS_PREFIX names, or undefined for anything else (or a bad id/node). */
export function parseDiagnosisKey(key: string): DiagnosisKeyPart | undefined {
  if (!key.startsWith(DIAGNOSIS_PREFIX)) return undefined;
  const parts = key.slice(DIAGNOSIS_PREFIX.length).split("/");
  const [id, part, node] = parts;
  if (id === undefined || !DIAGNOSIS_ID.test(id)) return undefined;
  if (parts.length === 2 && (part === "request" || part === "go" || part === "probe")) return { id, part };
  if (
    parts.length === 3 &&
    (part === "facts" || part === "armed" || part === "observed") &&
    node !== undefined &&
    NODE_NAME.test(node)
  )
    return { id, part, node };
  return undefined;
}

type Json = Record<string, unknown>;

/** Field checks bound to one key, so every error names it. */
class Checker {
  constructor(readonly key: string) {}

  fail(field: string, reason: string): InvalidDiagnosisRecordError {
    return new InvalidDiagnosisRecordError(this.key, field, reason);
  }

  parse(text: string): Json {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw this.fail("record", `is not JSON (${(error as Error).message})`);
    }
    return this.object(value, "record");
  }

  object(value: unknown, field: string): Json {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw this.fail(field, "must be an object");
    return value as Json;
  }

  string(value: unknown, field: string, max = 1024): string {
    if (typeof value !== "string") throw this.fail(field, "must be a string");
    if (value.length > max) throw this.fail(field, `is longer than ${max} characters`);
    return value;
  }

  optionalString(value: unknown, field: string, max = 1024): string | undefined {
    return value === undefined ? undefined : this.string(value, field, max);
  }

  number(value: unknown, field: string): number {
    if (typeof value !== "number" || !Number.isFinite(value)) throw this.fail(field, "must be a number");
    return value;
  }

  integer(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
      throw this.fail(field, `must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
    return value;
  }

  port(value: unknown, field: string): number {
    return this.integer(value, field, 1, 65535);
  }

  array(value: unknown, field: string, max = Number.POSITIVE_INFINITY): unknown[] {
    if (!Array.isArray(value)) throw this.fail(field, "must be an array");
    if (value.length > max) throw this.fail(field, `has ${value.length} entries, more than ${max}`);
    return value;
  }

  /** An array whose elements are objects, each passed to `each` (which checks what readers use). */
  objects(value: unknown, field: string, each: (o: Json, at: string) => void = () => {}): Json[] {
    return this.array(value, field).map((v, i) => {
      const o = this.object(v, `${field}[${i}]`);
      each(o, `${field}[${i}]`);
      return o;
    });
  }

  strings(value: unknown, field: string, max = Number.POSITIVE_INFINITY): string[] {
    return this.array(value, field, max).map((v, i) => this.string(v, `${field}[${i}]`));
  }

  stringRecord(value: unknown, field: string): Record<string, string> {
    const o = this.object(value, field);
    for (const [k, v] of Object.entries(o)) this.string(v, `${field}.${k}`);
    return o as Record<string, string>;
  }

  /** A validated address in canonical form. */
  ip(value: unknown, field: string): string {
    const ip = typeof value === "string" ? tryParseIP(value) : undefined;
    if (ip === undefined) throw this.fail(field, `must be an IP address, not ${JSON.stringify(value)}`);
    return formatIP(ip);
  }

  ips(value: unknown, field: string, max: number): string[] {
    return this.array(value, field, max).map((v, i) => this.ip(v, `${field}[${i}]`));
  }

  node(value: unknown, field: string): string {
    if (typeof value !== "string" || !NODE_NAME.test(value))
      throw this.fail(
        field,
        `must be a node name (lowercase letters, digits, '.' and '-'), not ${JSON.stringify(value)}`,
      );
    return value;
  }

  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value))
      throw this.fail(field, `must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
    return value as T;
  }
}

function checkKeyId(c: Checker, id: string): void {
  const named = parseDiagnosisKey(c.key);
  if (named !== undefined && named.id !== id)
    throw c.fail("id", `is "${id}" but the key names "${named.id}"`);
}

function checkKeyNode(c: Checker, node: string): void {
  const named = parseDiagnosisKey(c.key);
  if (named !== undefined && "node" in named && named.node !== node)
    throw c.fail("node", `is "${node}" but the key names "${named.node}"`);
}

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

// ---- answers: shape only ----------------------------------------------------------------------

export function parseNodeFacts(key: string, text: string): NodeFacts {
  const c = new Checker(key);
  const f = c.parse(text);
  const node = c.node(f.node, "node");
  checkKeyNode(c, node);
  c.string(f.collectedAt, "collectedAt");
  const agent = c.object(f.agent, "agent");
  c.string(agent.backend, "agent.backend");
  c.string(agent.uplink, "agent.uplink");
  c.strings(agent.nodeIPs, "agent.nodeIPs");
  c.strings(agent.blocks, "agent.blocks");
  c.objects(f.interfaces, "interfaces", (o, at) => {
    c.string(o.name, `${at}.name`);
    c.strings(o.addresses, `${at}.addresses`);
  });
  c.objects(f.routes, "routes", (o, at) => c.string(o.dst, `${at}.dst`));
  c.objects(f.neighbours, "neighbours", (o, at) => c.string(o.address, `${at}.address`));
  c.objects(f.fdb, "fdb", (o, at) => c.string(o.mac, `${at}.mac`));
  c.stringRecord(f.sysctls, "sysctls");
  checkNft(c, f.nft);
  c.objects(f.pods, "pods", (o, at) => {
    c.string(o.namespace, `${at}.namespace`);
    c.string(o.name, `${at}.name`);
    c.string(o.ifname, `${at}.ifname`);
    c.strings(o.ips, `${at}.ips`);
    if (o.inside !== undefined) {
      const inside = c.object(o.inside, `${at}.inside`);
      c.strings(inside.addresses, `${at}.inside.addresses`);
      c.objects(inside.routes, `${at}.inside.routes`);
    }
  });
  c.objects(f.allocations, "allocations", (o, at) => c.string(o.ip, `${at}.ip`));
  c.objects(f.releases, "releases", (o, at) => c.string(o.ip, `${at}.ip`));
  c.objects(f.conntrack, "conntrack", (o, at) => checkConntrack(c, o, at));
  c.objects(f.routeLookups, "routeLookups", (o, at) => c.object(o.query, `${at}.query`));
  c.strings(f.errors, "errors");
  return f as unknown as NodeFacts;
}

function checkNft(c: Checker, value: unknown): void {
  const nft = c.object(value, "nft");
  c.strings(nft.tables, "nft.tables");
  c.objects(nft.sets, "nft.sets", (o, at) => {
    c.string(o.name, `${at}.name`);
    c.objects(o.elements, `${at}.elements`, (e, eat) => c.strings(e.key, `${eat}.key`));
  });
  c.objects(nft.chains, "nft.chains", (o, at) => {
    c.string(o.name, `${at}.name`);
    c.strings(o.rules, `${at}.rules`);
  });
}

function checkConntrack(c: Checker, o: Json, at: string): void {
  c.string(o.proto, `${at}.proto`);
  for (const dir of ["original", "reply"] as const) {
    const t = c.object(o[dir], `${at}.${dir}`);
    c.string(t.src, `${at}.${dir}.src`);
    c.string(t.dst, `${at}.${dir}.dst`);
  }
  c.strings(o.flags, `${at}.flags`);
}

export function parseArmedReport(key: string, text: string): ArmedReport {
  const c = new Checker(key);
  const a = c.parse(text);
  const node = c.node(a.node, "node");
  checkKeyNode(c, node);
  const error = c.optionalString(a.error, "error", 4096);
  return { node, table: c.string(a.table, "table", 256), ...(error !== undefined ? { error } : {}) };
}

const OUTCOMES: readonly ProbeOutcome[] = ["answered", "refused", "unreachable", "timeout", "error"];

export function parseProbeResult(key: string, text: string): ProbeResult {
  const c = new Checker(key);
  const p = c.parse(text);
  c.oneOf(p.outcome, "outcome", OUTCOMES);
  c.number(p.ms, "ms");
  if (p.localIp !== undefined) c.string(p.localIp, "localIp");
  if (p.localPort !== undefined) c.number(p.localPort, "localPort");
  if (p.replyFrom !== undefined) c.string(p.replyFrom, "replyFrom");
  c.optionalString(p.answer, "answer", 4096);
  c.optionalString(p.error, "error", 4096);
  if (p.echo !== undefined) {
    const e = c.object(p.echo, "echo");
    c.string(e.pod, "echo.pod");
    c.string(e.ip, "echo.ip");
    c.string(e.from, "echo.from");
    c.number(e.fromPort, "echo.fromPort");
  }
  return p as unknown as ProbeResult;
}

export function parseNodeObservation(key: string, text: string): NodeObservation {
  const c = new Checker(key);
  const o = c.parse(text);
  const node = c.node(o.node, "node");
  checkKeyNode(c, node);
  c.objects(o.events, "events", (e, at) => {
    c.number(e.atMs, `${at}.atMs`);
    c.string(e.type, `${at}.type`);
    c.string(e.chain, `${at}.chain`);
    c.string(e.raw, `${at}.raw`, 8192);
  });
  c.objects(o.conntrack, "conntrack", (e, at) => checkConntrack(c, e, at));
  c.objects(o.counters, "counters", (e, at) => {
    c.string(e.chain, `${at}.chain`);
    c.string(e.name, `${at}.name`);
    c.number(e.packets, `${at}.packets`);
    c.number(e.bytes, `${at}.bytes`);
  });
  c.stringRecord(o.sysctls, "sysctls");
  c.strings(o.errors, "errors");
  return o as unknown as NodeObservation;
}

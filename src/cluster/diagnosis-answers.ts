/**
 * Validating parsers for the agents' answers (diagnosis-protocol.ts: facts, armed, probe,
 * observed). An answer is data from another node that the CLI prints, compares and turns into
 * copy-paste commands, so every field a reader touches is checked for its type and, where it
 * names something (an interface, an address, a namespace path, a container id), for its form; no
 * string may carry a control character. A record that fails is rejected as a whole, with the
 * field and the reason ("node X answered malformed facts: FIELD REASON"), never half-read.
 */
import { namespaceProblem, podNameProblem } from "../k8s/names.ts";
import { isLiveTableText } from "../linux/nft-table-family.ts";
import { checkBgpFact } from "./diagnosis-bgp-answer.ts";
import { Checker, type Json } from "./diagnosis-checker.ts";
import { checkKeyNode } from "./diagnosis-keys.ts";
import type {
  ArmedReport,
  NodeFacts,
  NodeObservation,
  ProbeOutcome,
  ProbeResult,
} from "./diagnosis-protocol.ts";

/** Names the kernel and nft print (route protocols, neighbour states, link kinds, chains, …). */
const TOKEN = /^[A-Za-z0-9_.:@/+-]{1,64}$/;
const KIND = /^[A-Za-z0-9_.-]{0,32}$/;
/** A link-layer address ("02:42:ac:11:00:02", infiniband's 20 bytes), an IPv4 one (ipip) or none. */
const HWADDR = /^$|^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){0,31}$|^\d{1,3}(\.\d{1,3}){3}$/;
/** A namespace path as the runtime gave it: absolute, no "..", characters safe on a command line. */
const NETNS_PATH = /^\/[A-Za-z0-9_./-]{1,4095}$/;
const CONTAINER_ID = /^[A-Za-z0-9_.-]{1,256}$/;
const SYSCTL_NAME = /^[A-Za-z0-9_.@:-]{1,256}$/;
const TRACE_TABLE_REF = /^inet podnet-trace-[a-z0-9]{8,32}$/;

/** Checks every element of the array at `field` with `check`. */
function each(c: Checker, v: unknown, field: string, check: (x: unknown, at: string) => unknown): void {
  const list = c.array(v, field);
  for (let i = 0; i < list.length; i++) check(list[i], `${field}[${i}]`);
}

function token(c: Checker, v: unknown, field: string): string {
  return c.matching(v, field, TOKEN, "a name (1–64 of A-Z a-z 0-9 _ . : @ / + -)");
}

function tokens(c: Checker, v: unknown, field: string): string[] {
  return c.array(v, field).map((t, i) => token(c, t, `${field}[${i}]`));
}

function hwaddr(c: Checker, v: unknown, field: string): string {
  return c.matching(v, field, HWADDR, "a link-layer address");
}

function optionalPort(c: Checker, v: unknown, field: string): void {
  if (v !== undefined) c.integer(v, field, 0, 65535);
}

function netnsPath(c: Checker, v: unknown, field: string): string {
  const s = c.matching(v, field, NETNS_PATH, "an absolute path of A-Z a-z 0-9 _ . / -");
  if (s.split("/").includes("..")) throw c.fail(field, `must not contain "..", not ${JSON.stringify(s)}`);
  return s;
}

function stringRecord(c: Checker, v: unknown, field: string): void {
  const o = c.object(v, field);
  for (const [k, value] of Object.entries(o)) {
    c.matching(k, `${field} key`, SYSCTL_NAME, "a sysctl name");
    c.string(value, `${field}.${k}`);
  }
}

function checkRoute(c: Checker, r: Json, at: string): void {
  if (r.dst !== "default") {
    const dst = c.string(r.dst, `${at}.dst`);
    if (dst.includes("/")) c.cidr(dst, `${at}.dst`);
    else c.ip(dst, `${at}.dst`);
  }
  c.optional(r.dev, (v) => c.ifname(v, `${at}.dev`));
  c.optional(r.via, (v) => c.ip(v, `${at}.via`));
  c.optional(r.src, (v) => c.ip(v, `${at}.src`));
  c.optional(r.proto, (v) => token(c, v, `${at}.proto`));
  c.optional(r.scope, (v) => token(c, v, `${at}.scope`));
  c.boolean(r.onlink, `${at}.onlink`);
  token(c, r.type, `${at}.type`);
}

function checkInterface(c: Checker, o: Json, at: string): void {
  c.ifname(o.name, `${at}.name`);
  c.integer(o.index, `${at}.index`, 0, 2 ** 31);
  c.matching(o.kind, `${at}.kind`, KIND, "a link kind");
  hwaddr(c, o.mac, `${at}.mac`);
  c.integer(o.mtu, `${at}.mtu`, 0, 2 ** 31);
  c.boolean(o.up, `${at}.up`);
  c.optional(o.master, (v) => c.ifname(v, `${at}.master`));
  c.optional(o.alias, (v) => c.string(v, `${at}.alias`, 256));
  each(c, o.addresses, `${at}.addresses`, (x, at) => c.cidr(x, at));
  if (o.vxlan !== undefined) {
    const x = c.object(o.vxlan, `${at}.vxlan`);
    c.integer(x.vni, `${at}.vxlan.vni`, 0, 2 ** 24);
    c.integer(x.port, `${at}.vxlan.port`, 0, 65535);
    c.optional(x.local, (v) => c.ip(v, `${at}.vxlan.local`));
    c.optional(x.dev, (v) => c.ifname(v, `${at}.vxlan.dev`));
  }
}

function checkConntrack(c: Checker, o: Json, at: string): void {
  token(c, o.proto, `${at}.proto`);
  c.optional(o.state, (v) => token(c, v, `${at}.state`));
  c.number(o.timeoutSeconds, `${at}.timeoutSeconds`);
  for (const dir of ["original", "reply"] as const) {
    const t = c.object(o[dir], `${at}.${dir}`);
    c.ip(t.src, `${at}.${dir}.src`);
    c.ip(t.dst, `${at}.${dir}.dst`);
    optionalPort(c, t.sport, `${at}.${dir}.sport`);
    optionalPort(c, t.dport, `${at}.${dir}.dport`);
    if (t.icmp !== undefined) {
      const icmp = c.object(t.icmp, `${at}.${dir}.icmp`);
      for (const f of ["type", "code", "id"] as const) c.integer(icmp[f], `${at}.${dir}.icmp.${f}`, 0, 65535);
    }
  }
  tokens(c, o.flags, `${at}.flags`);
  if (o.mark !== undefined) c.number(o.mark, `${at}.mark`);
}

/** A fact of `ip6 podnet` says so; one of `ip podnet` carries no family (agents before both were read). */
function nftFamily(c: Checker, v: unknown, field: string): void {
  c.optional(v, (x) => c.oneOf(x, field, ["ip6"] as const));
}

function checkNft(c: Checker, value: unknown): void {
  const nft = c.object(value, "nft");
  c.strings(nft.tables, "nft.tables");
  // The proxy's live tables ("ip podnet-b"), which go into printed commands; absent from agents
  // before the table alternated between two names.
  c.optional(nft.liveTables, (v) =>
    each(c, v, "nft.liveTables", (x, at) => {
      if (typeof x !== "string" || !isLiveTableText(x))
        throw c.fail(at, `must be one of ip|ip6 podnet|podnet-b, not ${JSON.stringify(x)}`);
    }),
  );
  c.objects(nft.sets, "nft.sets", (o, at) => {
    token(c, o.name, `${at}.name`);
    nftFamily(c, o.family, `${at}.family`);
    c.objects(o.elements, `${at}.elements`, (e, eat) => {
      c.strings(e.key, `${eat}.key`);
      if (e.value !== undefined) c.strings(e.value, `${eat}.value`);
    });
  });
  c.objects(nft.chains, "nft.chains", (o, at) => {
    token(c, o.name, `${at}.name`);
    nftFamily(c, o.family, `${at}.family`);
    each(c, o.rules, `${at}.rules`, (x, at) => c.string(x, at, 4096));
  });
}

function checkPodName(c: Checker, o: Json, at: string, optional: boolean): void {
  if (optional && o.namespace === undefined && o.name === undefined) return;
  const ns = typeof o.namespace === "string" ? namespaceProblem(o.namespace) : "must be a string";
  if (ns !== undefined) throw c.fail(`${at}.namespace`, ns);
  const name = typeof o.name === "string" ? podNameProblem(o.name) : "must be a string";
  if (name !== undefined) throw c.fail(`${at}.name`, name);
}

function checkPod(c: Checker, o: Json, at: string): void {
  token(c, o.network, `${at}.network`);
  checkPodName(c, o, at, false);
  c.matching(o.containerId, `${at}.containerId`, CONTAINER_ID, "a container id (A-Z a-z 0-9 _ . -)");
  c.ifname(o.ifname, `${at}.ifname`);
  c.optional(o.netns, (v) => netnsPath(c, v, `${at}.netns`));
  each(c, o.ips, `${at}.ips`, (x, at) => c.ip(x, at));
  c.string(o.recordedAt, `${at}.recordedAt`, 64);
  c.optional(o.hostVeth, (v) => c.ifname(v, `${at}.hostVeth`));
  if (o.inside !== undefined) {
    const inside = c.object(o.inside, `${at}.inside`);
    hwaddr(c, inside.mac, `${at}.inside.mac`);
    each(c, inside.addresses, `${at}.inside.addresses`, (x, at) => c.cidr(x, at));
    c.objects(inside.routes, `${at}.inside.routes`, (r, rat) => checkRoute(c, r, rat));
  }
  c.optional(o.insideError, (v) => c.string(v, `${at}.insideError`, 4096));
}

function checkHeld(c: Checker, o: Json, at: string, when: "allocatedAt" | "releasedAt"): void {
  token(c, o.network, `${at}.network`);
  c.ip(o.ip, `${at}.ip`);
  c.matching(o.containerId, `${at}.containerId`, CONTAINER_ID, "a container id (A-Z a-z 0-9 _ . -)");
  c.ifname(o.ifname, `${at}.ifname`);
  c.string(o[when], `${at}.${when}`, 64);
}

export function parseNodeFacts(key: string, text: string): NodeFacts {
  const c = new Checker(key);
  const f = c.parse(text);
  const node = c.node(f.node, "node");
  checkKeyNode(c, node);
  c.string(f.collectedAt, "collectedAt", 64);
  const agent = c.object(f.agent, "agent");
  token(c, agent.backend, "agent.backend");
  c.ifname(agent.uplink, "agent.uplink");
  each(c, agent.nodeIPs, "agent.nodeIPs", (x, at) => c.ip(x, at));
  each(c, agent.blocks, "agent.blocks", (x, at) => c.cidr(x, at));
  c.objects(f.interfaces, "interfaces", (o, at) => checkInterface(c, o, at));
  c.objects(f.routes, "routes", (o, at) => checkRoute(c, o, at));
  c.objects(f.neighbours, "neighbours", (o, at) => {
    c.ifname(o.dev, `${at}.dev`);
    c.ip(o.address, `${at}.address`);
    c.optional(o.mac, (v) => hwaddr(c, v, `${at}.mac`));
    tokens(c, o.state, `${at}.state`);
  });
  c.objects(f.fdb, "fdb", (o, at) => {
    c.ifname(o.dev, `${at}.dev`);
    hwaddr(c, o.mac, `${at}.mac`);
    c.optional(o.dst, (v) => c.ip(v, `${at}.dst`));
    tokens(c, o.flags, `${at}.flags`);
  });
  stringRecord(c, f.sysctls, "sysctls");
  checkNft(c, f.nft);
  c.objects(f.pods, "pods", (o, at) => checkPod(c, o, at));
  c.objects(f.allocations, "allocations", (o, at) => checkHeld(c, o, at, "allocatedAt"));
  c.objects(f.releases, "releases", (o, at) => {
    checkHeld(c, o, at, "releasedAt");
    checkPodName(c, o, at, true);
  });
  c.objects(f.conntrack, "conntrack", (o, at) => checkConntrack(c, o, at));
  c.objects(f.routeLookups, "routeLookups", (o, at) => {
    const q = c.object(o.query, `${at}.query`);
    c.ip(q.dst, `${at}.query.dst`);
    c.optional(q.from, (v) => c.ip(v, `${at}.query.from`));
    c.optional(q.iif, (v) => c.ifname(v, `${at}.query.iif`));
    if (o.route !== undefined) checkRoute(c, c.object(o.route, `${at}.route`), `${at}.route`);
    c.optional(o.error, (v) => c.string(v, `${at}.error`, 4096));
  });
  if (f.bgp !== undefined) checkBgpFact(c, f.bgp);
  each(c, f.errors, "errors", (x, at) => c.string(x, at, 4096));
  return f as unknown as NodeFacts;
}

export function parseArmedReport(key: string, text: string): ArmedReport {
  const c = new Checker(key);
  const a = c.parse(text);
  const node = c.node(a.node, "node");
  checkKeyNode(c, node);
  const error = c.optionalString(a.error, "error", 4096);
  const table = c.matching(a.table, "table", TRACE_TABLE_REF, "inet podnet-trace-ID");
  return { node, table, ...(error !== undefined ? { error } : {}) };
}

const OUTCOMES: readonly ProbeOutcome[] = ["answered", "refused", "unreachable", "timeout", "error"];

export function parseProbeResult(key: string, text: string): ProbeResult {
  const c = new Checker(key);
  const p = c.parse(text);
  c.oneOf(p.outcome, "outcome", OUTCOMES);
  c.number(p.ms, "ms");
  c.optional(p.localIp, (v) => c.ip(v, "localIp"));
  optionalPort(c, p.localPort, "localPort");
  c.optional(p.replyFrom, (v) => c.ip(v, "replyFrom"));
  c.optionalString(p.answer, "answer", 4096);
  c.optionalString(p.error, "error", 4096);
  if (p.echo !== undefined) {
    const e = c.object(p.echo, "echo");
    c.string(e.pod, "echo.pod", 253);
    c.ip(e.ip, "echo.ip");
    c.ip(e.from, "echo.from");
    c.integer(e.fromPort, "echo.fromPort", 0, 65535);
  }
  return p as unknown as ProbeResult;
}

const EVENT_TYPES = ["packet", "rule", "policy", "unknown"] as const;

export function parseNodeObservation(key: string, text: string): NodeObservation {
  const c = new Checker(key);
  const o = c.parse(text);
  const node = c.node(o.node, "node");
  checkKeyNode(c, node);
  c.objects(o.events, "events", (e, at) => {
    c.number(e.atMs, `${at}.atMs`);
    token(c, e.traceId, `${at}.traceId`);
    token(c, e.family, `${at}.family`);
    token(c, e.table, `${at}.table`);
    token(c, e.chain, `${at}.chain`);
    c.oneOf(e.type, `${at}.type`, EVENT_TYPES);
    c.optionalString(e.rule, `${at}.rule`, 4096);
    c.optionalString(e.verdict, `${at}.verdict`, 256);
    c.optional(e.iif, (v) => c.ifname(v, `${at}.iif`));
    c.optional(e.oif, (v) => c.ifname(v, `${at}.oif`));
    c.optional(e.saddr, (v) => c.ip(v, `${at}.saddr`));
    c.optional(e.daddr, (v) => c.ip(v, `${at}.daddr`));
    optionalPort(c, e.sport, `${at}.sport`);
    optionalPort(c, e.dport, `${at}.dport`);
    if (e.ttl !== undefined) c.integer(e.ttl, `${at}.ttl`, 0, 255);
    c.optional(e.l4proto, (v) => token(c, v, `${at}.l4proto`));
    c.optionalString(e.tcpFlags, `${at}.tcpFlags`, 128);
    c.optional(e.icmpType, (v) => token(c, v, `${at}.icmpType`));
    c.string(e.raw, `${at}.raw`, 8192);
  });
  c.objects(o.conntrack, "conntrack", (e, at) => checkConntrack(c, e, at));
  c.objects(o.counters, "counters", (e, at) => {
    token(c, e.chain, `${at}.chain`);
    c.string(e.name, `${at}.name`, 256);
    c.number(e.packets, `${at}.packets`);
    c.number(e.bytes, `${at}.bytes`);
  });
  stringRecord(c, o.sysctls, "sysctls");
  each(c, o.errors, "errors", (x, at) => c.string(x, at, 4096));
  return o as unknown as NodeObservation;
}

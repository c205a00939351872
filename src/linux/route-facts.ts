/**
 * The main routing table (IPv4 and IPv6) and the kernel's own routing decision (`ip route get`),
 * which is what really happens to a packet: explain compares it with the peer routes the agent
 * should have installed, trace shows it per hop. A refusal ("Network is unreachable") is an answer.
 */
import { parseIP, tryParseIP } from "../ipnet/address.ts";
import type { RouteFact } from "./kernel-facts.ts";
import {
  isRecord,
  KernelOutputError,
  type NetnsOption,
  optString,
  parseToolJson,
  runRead,
  stringList,
  validateIfname,
} from "./kernel-read.ts";

const COMMAND = "ip -j route";

export class RouteQueryError extends Error {
  override readonly name = "RouteQueryError";
  constructor(
    readonly dst: string,
    readonly reason: string,
  ) {
    super(`Cannot look up the route to "${dst}": ${reason}`);
  }
}

/** "default", a prefix, or a bare address (host route, `route get`) given its full length. */
function normalizeDst(dst: string): string {
  if (dst === "default" || dst.includes("/")) return dst;
  const ip = tryParseIP(dst);
  if (ip === undefined) return dst;
  return `${dst}/${ip.family === 4 ? 32 : 128}`;
}

function routeOf(entry: unknown): RouteFact {
  if (!isRecord(entry)) throw new KernelOutputError(COMMAND, "an entry is not an object");
  const rawDst = optString(entry.dst);
  if (rawDst === undefined) throw new KernelOutputError(COMMAND, "an entry has no dst");
  // A multipath route lists its next hops; the first one stands for it here.
  const hop = Array.isArray(entry.nexthops) && isRecord(entry.nexthops[0]) ? entry.nexthops[0] : entry;
  const dev = optString(hop.dev) ?? optString(entry.dev);
  const via = optString(hop.gateway) ?? optString(entry.gateway);
  const src = optString(entry.prefsrc);
  const proto = optString(entry.protocol);
  const scope = optString(entry.scope);
  const flags = [...stringList(entry.flags), ...stringList(hop.flags)];
  return {
    dst: normalizeDst(rawDst),
    ...(dev !== undefined ? { dev } : {}),
    ...(via !== undefined ? { via } : {}),
    ...(src !== undefined ? { src } : {}),
    ...(proto !== undefined ? { proto } : {}),
    ...(scope !== undefined ? { scope } : {}),
    onlink: flags.includes("onlink"),
    type: optString(entry.type) ?? "unicast",
  };
}

/** Pure: the routes of `ip -j route show` or `ip -j route get` output. */
export function parseRoutesJson(json: string): RouteFact[] {
  const doc = parseToolJson(COMMAND, json, []);
  if (!Array.isArray(doc)) throw new KernelOutputError(COMMAND, "not a JSON array");
  return doc.map(routeOf);
}

/** The main table's IPv4 and IPv6 routes. */
export async function readRoutes(options: NetnsOption = {}): Promise<RouteFact[]> {
  const [v4, v6] = await Promise.all([
    runRead(options, ["ip", "-j", "route", "show"]),
    runRead(options, ["ip", "-j", "-6", "route", "show"]),
  ]);
  return [...parseRoutesJson(v4.stdout), ...parseRoutesJson(v6.stdout)];
}

/**
 * `ip route get DST [from FROM] [iif IIF]`: the route the kernel picks, or its refusal as text
 * (e.g. "RTNETLINK answers: Network is unreachable"). Invalid input throws before anything runs.
 */
export async function lookupRoute(
  query: { readonly dst: string; readonly from?: string; readonly iif?: string },
  options: NetnsOption = {},
): Promise<{ route?: RouteFact; error?: string }> {
  const dst = parseIP(query.dst);
  const argv = ["ip", "-j", "route", "get", query.dst];
  if (query.from !== undefined) {
    const from = parseIP(query.from);
    if (from.family !== dst.family)
      throw new RouteQueryError(query.dst, `source ${query.from} is of another address family`);
    argv.push("from", query.from);
  }
  if (query.iif !== undefined) argv.push("iif", validateIfname(query.iif));
  const r = await runRead(options, argv, (_code, stderr) => /RTNETLINK answers|Error:/.test(stderr));
  if (r.code !== 0) return { error: r.stderr.trim().split("\n").join("; ") };
  const route = parseRoutesJson(r.stdout)[0];
  if (route === undefined) return { error: "ip route get printed no route" };
  return { route };
}

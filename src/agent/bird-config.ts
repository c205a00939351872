/**
 * The node's BIRD 2 configuration, rendered as text (pure). What it does (PLAN decisions 2–3):
 * - announces exactly the node's blocks: a `protocol static` per family with a blackhole route
 *   per block, and BGP export filters that accept only those protocols' routes (Calico does the
 *   same; the node keeps its own bridge/ptp routes, BIRD never exports them to the kernel);
 * - imports from peers only routes inside the cluster CIDRs of node-block length or longer that
 *   are not the node's own blocks — never a default route or the cluster CIDR itself;
 * - installs in the kernel only BGP-learned routes (`proto bird`, metric 32), and learns the
 *   kernel's default routes so iBGP next hops of reflected routes resolve recursively;
 * - connects at once (`connect delay time 0`: ~1 s from BIRD's start to the router instead of ~4 s with the default 5).
 *
 * BIRD's config is a language: every value interpolated here is validated first (addresses
 * are formatted from parsed values, names and the password are checked against strict
 * patterns) and a value that fails throws BirdConfigRenderError instead of reaching the file.
 */
import type { BgpGracefulRestart } from "../cluster/bgp-config.ts";
import { NODE_NAME } from "../cluster/node-record.ts";
import type { PerFamily } from "../ipam/node-block-length.ts";
import { bitLength, type Family, formatIP, tryParseIP } from "../ipnet/address.ts";
import { formatPrefix, type IPPrefix } from "../ipnet/prefix.ts";
import { BGP_PASSWORD, type BgpSession } from "./bgp-peers.ts";

export interface BirdConfigInput {
  /** Dotted quad (bgpRouterId). */
  readonly routerId: string;
  readonly nodeName: string;
  /** The uplink interface: the direct protocol's IGP routes for recursive next hops. */
  readonly uplink: string;
  /** The node's leased blocks: exactly what it announces. */
  readonly blocks: readonly IPPrefix[];
  readonly clusterCidrs: readonly IPPrefix[];
  /** Node block length per family (ClusterConfig.nodeBlockLength). */
  readonly nodeBlockLength: PerFamily<number>;
  /** Already selected and resolved for this node (selectBgpPeers). */
  readonly sessions: readonly BgpSession[];
  readonly gracefulRestart: BgpGracefulRestart;
}

export class BirdConfigRenderError extends Error {
  override readonly name = "BirdConfigRenderError";
  constructor(what: string, value: string, reason: string) {
    super(`Cannot render the BIRD config: ${what} ${JSON.stringify(value)} ${reason}`);
  }
}

/** Linux interface names BIRD's interface patterns read literally (no `*`, `?`, quotes). */
const INTERFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const PROTOCOL = /^peer_[a-z0-9_]{1,60}$/;
const MAX_AS = 4_294_967_295;

const suffix = (f: Family) => (f === 4 ? "4" : "6");
const channel = (f: Family) => (f === 4 ? "ipv4" : "ipv6");
const defaultRoute = (f: Family) => (f === 4 ? "0.0.0.0/0" : "::/0");

function checkInput(input: BirdConfigInput): void {
  const id = tryParseIP(input.routerId);
  if (id === undefined || id.family !== 4 || id.value === 0n || formatIP(id) !== input.routerId)
    throw new BirdConfigRenderError(
      "router id",
      input.routerId,
      "is not a non-zero dotted-quad IPv4 address",
    );
  if (!NODE_NAME.test(input.nodeName))
    throw new BirdConfigRenderError("node name", input.nodeName, "is not a node name");
  if (!INTERFACE.test(input.uplink))
    throw new BirdConfigRenderError("uplink", input.uplink, "is not an interface name of [A-Za-z0-9_.-]");
  const { restartTimeSeconds: restart } = input.gracefulRestart;
  if (!Number.isInteger(restart) || restart < 1 || restart > 4095)
    throw new BirdConfigRenderError(
      "graceful restart time",
      String(restart),
      "is not 1..4095 seconds (RFC 4724)",
    );
  for (const s of input.sessions) {
    const fail = (what: string, value: unknown, reason: string) =>
      new BirdConfigRenderError(`peer ${s.peer}: ${what}`, String(value), reason);
    if (!PROTOCOL.test(s.protocol)) throw fail("protocol name", s.protocol, "is not peer_[a-z0-9_]");
    for (const as of [s.asNumber, s.localAsNumber])
      if (!Number.isInteger(as) || as < 1 || as > MAX_AS) throw fail("AS", as, "is not 1..4294967295");
    if (s.password !== undefined && !BGP_PASSWORD.test(s.password))
      throw fail(
        "password",
        "(hidden)",
        "has characters other than printable ASCII without quotes or backslashes",
      );
    const hold = s.holdTimeSeconds;
    if (!Number.isInteger(hold) || (hold !== 0 && (hold < 3 || hold > 65535)))
      throw fail("hold time", hold, "is not 0 or 3..65535");
    const keepalive = s.keepaliveSeconds;
    if (
      keepalive !== undefined &&
      (!Number.isInteger(keepalive) || keepalive < 1 || keepalive >= Math.max(hold, 1))
    )
      throw fail("keepalive time", keepalive, `is not 1..${hold - 1}`);
    if (s.multihop !== undefined && (!Number.isInteger(s.multihop) || s.multihop < 1 || s.multihop > 255))
      throw fail("multihop", s.multihop, "is not 1..255");
    for (const f of s.families)
      if (!input.clusterCidrs.some((c) => c.family === f))
        throw fail("family", `ipv${f}`, "has no cluster CIDR: nothing to import or announce");
    if (s.localAddress.family !== s.address.family)
      throw fail("local address", formatIP(s.localAddress), "is not in the peer's address family");
  }
  if (new Set(input.sessions.map((s) => s.protocol)).size !== input.sessions.length)
    throw new BirdConfigRenderError(
      "peers",
      input.sessions.map((s) => s.peer).join(","),
      "repeat a protocol name",
    );
}

function kernelProtocol(f: Family, gr: boolean): string {
  return [
    `protocol kernel podnet_kernel${suffix(f)} {`,
    "  scan time 10;",
    "  learn;",
    "  merge paths on;",
    ...(gr ? ["  graceful restart on;"] : []),
    `  ${channel(f)} { import where net = ${defaultRoute(f)}; export where source = RTS_BGP; };`,
    "}",
  ].join("\n");
}

function blocksProtocol(f: Family, blocks: readonly IPPrefix[]): string {
  return [
    `protocol static podnet_blocks${suffix(f)} {`,
    `  ${channel(f)};`,
    ...blocks.map((b) => `  route ${formatPrefix(b)} blackhole;`),
    "}",
  ].join("\n");
}

function filters(f: Family, input: BirdConfigInput): string {
  const own = input.blocks.filter((b) => b.family === f);
  const cidrs = input.clusterCidrs.filter((c) => c.family === f);
  const blockLength = input.nodeBlockLength[channel(f)];
  const max = bitLength(f);
  const accepted = cidrs.map(
    (c) => `${formatPrefix(c)}{${Math.max(c.length, blockLength ?? c.length)},${max}}`,
  );
  const n = suffix(f);
  return [
    `filter podnet_export${n} {`,
    `  if proto = "podnet_blocks${n}" then accept;`,
    "  reject;",
    "}",
    `filter podnet_import${n} {`,
    ...(own.length > 0
      ? [`  if net ~ [ ${own.map((b) => `${formatPrefix(b)}+`).join(", ")} ] then reject;`]
      : []),
    ...(accepted.length > 0 ? [`  if net ~ [ ${accepted.join(", ")} ] then accept;`] : []),
    "  reject;",
    "}",
  ].join("\n");
}

function template(gr: BgpGracefulRestart): string {
  return [
    "template bgp podnet_peer {",
    "  connect delay time 0;",
    "  connect retry time 2;",
    "  error wait time 1, 10;",
    ...(gr.enabled
      ? ["  graceful restart on;", `  graceful restart time ${gr.restartTimeSeconds};`]
      : ["  graceful restart aware;"]),
    "}",
  ].join("\n");
}

function bgpProtocol(s: BgpSession): string {
  return [
    `protocol bgp ${s.protocol} from podnet_peer {`,
    `  local ${formatIP(s.localAddress)} as ${s.localAsNumber};`,
    `  neighbor ${formatIP(s.address)} as ${s.asNumber};`,
    `  hold time ${s.holdTimeSeconds};`,
    ...(s.keepaliveSeconds === undefined ? [] : [`  keepalive time ${s.keepaliveSeconds};`]),
    ...(s.multihop === undefined ? [] : [`  multihop ${s.multihop};`]),
    ...(s.allowLocalAs ? ["  allow local as;"] : []),
    ...(s.password === undefined ? [] : [`  password "${s.password}";`]),
    ...s.families.map((f) => {
      // IPv6 over an IPv4 session: the next hop named. BIRD fixes a channel's next hop when the
      // session starts, and a reload only re-sends the routes with the old one: a changed IPv6 node
      // IP needs the session restarted (sessionsToRestart).
      const nextHop = f === 6 && s.nextHop6 !== undefined ? ` next hop address ${formatIP(s.nextHop6)};` : "";
      return `  ${channel(f)} {${nextHop} import filter podnet_import${suffix(f)}; export filter podnet_export${suffix(f)}; };`;
    }),
    "}",
  ].join("\n");
}

export function renderBirdConfig(input: BirdConfigInput): string {
  checkInput(input);
  const families = ([4, 6] as const).filter((f) => input.clusterCidrs.some((c) => c.family === f));
  const gr = input.gracefulRestart.enabled;
  const sections = [
    [
      `# BIRD config of podnet node ${input.nodeName}, rendered by its agent: edits are overwritten.`,
      `router id ${input.routerId};`,
      "log stderr all;",
      // Dates in `show protocols` (BIRD's default is the time of day only): how long a session
      // has been up, for metrics and explain.
      "timeformat protocol iso long;",
    ].join("\n"),
    // A 1 s timer: BIRD 2.0.12 sends a re-opened session's first UPDATE only when something
    // wakes its loop — measured 2.4 s late with the lab's timers (3.3 s from start to the
    // router's kernel, against a steady 1.05 s with this); a device scan a second costs nothing.
    "protocol device { scan time 1; }",
    `protocol direct podnet_direct { ${families.map((f) => `${channel(f)}; `).join("")}interface "${input.uplink}"; }`,
    ...families.map((f) => kernelProtocol(f, gr)),
    ...families.map((f) =>
      blocksProtocol(
        f,
        input.blocks.filter((b) => b.family === f),
      ),
    ),
    ...families.map((f) => filters(f, input)),
    template(input.gracefulRestart),
    ...input.sessions.map(bgpProtocol),
  ];
  return `${sections.join("\n\n")}\n`;
}

/** What of a session BIRD compares on `configure`: any difference restarts the protocol by itself. */
function sessionOptions(s: BgpSession): string {
  return JSON.stringify([
    formatIP(s.address),
    formatIP(s.localAddress),
    s.asNumber,
    s.localAsNumber,
    s.holdTimeSeconds,
    s.keepaliveSeconds,
    s.password,
    s.multihop,
    s.allowLocalAs,
    // A channel added or removed changes the capabilities: BIRD restarts the session.
    s.families,
  ]);
}

/**
 * The protocols a reload from `before` to `after` leaves announcing a stale IPv6 next hop: BIRD
 * takes a channel's `next hop address` when the session starts and only re-sends the routes with
 * it on `configure` (measured with 2.0.12: the router kept the old address). Those sessions need
 * a `restart`, unless a session option changed too — then `configure` restarts them itself.
 */
export function sessionsToRestart(before: readonly BgpSession[], after: readonly BgpSession[]): string[] {
  return after.flatMap((s) => {
    const old = before.find((b) => b.protocol === s.protocol);
    if (old === undefined || sessionOptions(old) !== sessionOptions(s)) return [];
    const hop = (x: BgpSession) => (x.nextHop6 === undefined ? "" : formatIP(x.nextHop6));
    return hop(old) !== hop(s) ? [s.protocol] : [];
  });
}

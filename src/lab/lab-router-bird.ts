/**
 * The lab router's BIRD config (pure), written as an operator would configure a top-of-rack
 * router for a cluster: dynamic neighbors per node segment (any node on the segment may peer, so
 * the router needs no per-node config and follows a node IP change), the nodes' routes reflected
 * to the other nodes (iBGP route reflector; with eBGP they are re-advertised with the router as
 * next hop), and BGP routes installed in the router's kernel so the VM and other segments reach
 * pods by pod IP.
 *
 * BIRD's config is a language: every value below is validated before it is written into it.
 */
import type { BgpConfig } from "../cluster/bgp-config.ts";
import type { Family } from "../ipnet/address.ts";
import { parseIP } from "../ipnet/address.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { Topology } from "./topology.ts";
import { segmentCidrs, segmentGateways } from "./topology.ts";

export interface LabRouterSegment {
  /** Becomes part of BIRD protocol names: a short lowercase name (the lab's segment names). */
  readonly name: string;
  /** The segment's ranges: a dynamic-neighbor protocol listens on each. */
  readonly cidrs: readonly string[];
}

export interface LabRouterBirdInput {
  /** BIRD's router id, written like an IPv4 address. */
  readonly routerId: string;
  /** The segments nodes peer from (not the external one). */
  readonly segments: readonly LabRouterSegment[];
  /** The router's AS. */
  readonly asNumber: number;
  /** The nodes' AS: absent or equal to `asNumber` is iBGP with the nodes as route-reflector clients; different is eBGP. */
  readonly nodeAsNumber?: number;
  /** 9 and 3 by default: a dead node's routes go within seconds, which the lab's claims wait for. */
  readonly holdTimeSeconds?: number;
  readonly keepaliveSeconds?: number;
  /** TCP MD5 password the nodes use too. */
  readonly password?: string;
  /** Graceful restart on, with this restart time; absent: BIRD's default (aware: it keeps a restarting node's routes). */
  readonly gracefulRestartSeconds?: number;
  /** Only routes inside these (of any length) are accepted from nodes; absent: all. */
  readonly podCidrs?: readonly string[];
}

export class LabRouterBirdError extends Error {
  override readonly name = "LabRouterBirdError";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`Cannot render the lab router's BIRD config: ${field} ${reason}`);
  }
}

export const LAB_ROUTER_HOLD_TIME = 9;
export const LAB_ROUTER_KEEPALIVE = 3;

const SEGMENT_NAME = /^[a-z][a-z0-9]{0,15}$/;
/** Printable ASCII without quote and backslash (nothing BIRD's string syntax would interpret); TCP MD5 keys hold ≤ 80 bytes. */
const PASSWORD = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,80}$/;

function asNumber(field: string, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 4294967295)
    throw new LabRouterBirdError(field, `${n} must be an AS number from 1 to 4294967295`);
  return n;
}

function intIn(field: string, n: number, min: number, max: number): number {
  if (!Number.isInteger(n) || n < min || n > max)
    throw new LabRouterBirdError(field, `${n} must be a whole number of seconds from ${min} to ${max}`);
  return n;
}

function prefixOf(field: string, text: string) {
  try {
    return parsePrefix(text, { strict: true });
  } catch (e) {
    throw new LabRouterBirdError(field, `"${text}" is not a network range: ${(e as Error).message}`);
  }
}

function routerIdOf(text: string): string {
  try {
    const ip = parseIP(text);
    if (ip.family === 4 && ip.value !== 0n) return text;
  } catch {
    // reported below
  }
  throw new LabRouterBirdError("routerId", `"${text}" must be a non-zero IPv4 address`);
}

interface Listener {
  readonly protocol: string;
  readonly range: string;
  readonly family: Family;
}

function listeners(segments: readonly LabRouterSegment[]): Listener[] {
  if (segments.length === 0) throw new LabRouterBirdError("segments", "are empty: no node could peer");
  const names = new Set<string>();
  return segments.flatMap((seg, i) => {
    if (!SEGMENT_NAME.test(seg.name))
      throw new LabRouterBirdError(
        `segments[${i}].name`,
        `"${seg.name}" must be a short lowercase name (e.g. lan1)`,
      );
    if (names.has(seg.name))
      throw new LabRouterBirdError(`segments[${i}].name`, `"${seg.name}" is used twice`);
    names.add(seg.name);
    if (seg.cidrs.length === 0) throw new LabRouterBirdError(`segments[${i}].cidrs`, "are empty");
    return seg.cidrs.map((c) => {
      const p = prefixOf(`segments[${i}].cidrs`, c);
      return { protocol: `${seg.name}_v${p.family}`, range: formatPrefix(p), family: p.family };
    });
  });
}

/** `import` of a channel: only routes inside the pod ranges of its family, when given. */
function importOf(family: Family, podCidrs: readonly string[] | undefined): string {
  if (podCidrs === undefined) return "import all;";
  const ranges = podCidrs.map((c) => prefixOf("podCidrs", c)).filter((p) => p.family === family);
  if (ranges.length === 0) return "import none;";
  return `import where net ~ [ ${ranges.map((p) => `${formatPrefix(p)}+`).join(", ")} ];`;
}

export function renderLabRouterBird(input: LabRouterBirdInput): string {
  const routerId = routerIdOf(input.routerId);
  const localAs = asNumber("asNumber", input.asNumber);
  const nodeAs = asNumber("nodeAsNumber", input.nodeAsNumber ?? localAs);
  const internal = nodeAs === localAs;
  const hold = intIn("holdTimeSeconds", input.holdTimeSeconds ?? LAB_ROUTER_HOLD_TIME, 3, 65535);
  const keepalive = intIn("keepaliveSeconds", input.keepaliveSeconds ?? LAB_ROUTER_KEEPALIVE, 1, hold - 1);
  if (input.password !== undefined && !PASSWORD.test(input.password))
    throw new LabRouterBirdError(
      "password",
      "must be 1 to 80 printable ASCII characters without quotes or backslashes",
    );
  const restart =
    input.gracefulRestartSeconds === undefined
      ? undefined
      : intIn("gracefulRestartSeconds", input.gracefulRestartSeconds, 1, 4095);
  const legs = listeners(input.segments);
  for (const c of input.podCidrs ?? []) prefixOf("podCidrs", c);
  const families = ([4, 6] as const).filter((f) => legs.some((l) => l.family === f));

  const lines: string[] = [
    "# The lab router's BIRD (rendered by podnet lab): peers with every node of the node segments.",
    `router id ${routerId};`,
    "log stderr all;",
    "protocol device { scan time 5; }",
    "# The segments' routes: iBGP next hops (the nodes' addresses) resolve through them (gateway recursive).",
    `protocol direct { ${families.map((f) => `ipv${f};`).join(" ")} }`,
    "",
    "# BGP routes into the router's kernel with one next hop each (no merge paths): after a node's",
    "# IP changes, its old session lingers until the hold timer fires and must not take half the flows.",
    ...families.map(
      (f) =>
        `protocol kernel k${f} { scan time 10; ipv${f} { import none; export where source = RTS_BGP; }; }`,
    ),
    "",
    "template bgp lab_nodes {",
    `  local as ${localAs};`,
    ...(internal ? ["  rr client;"] : []),
    `  hold time ${hold}; keepalive time ${keepalive};`,
    // Dynamic neighbours only answer, and take a node back at once: with an error wait, each
    // restart or hold-timer expiry of a node doubled the time its next connect was refused
    // ("Startup delayed by 2 seconds due to errors": its block a second or more later).
    "  passive on; connect retry time 1; error wait time 0, 0;",
    ...(restart === undefined ? [] : [`  graceful restart on; graceful restart time ${restart};`]),
    ...(input.password === undefined ? [] : [`  password "${input.password}";`]),
    "}",
  ];
  for (const leg of legs) {
    // A session over IPv6 carries IPv6 routes only: IPv4 routes over it would need extended next hops (RFC 8950).
    const channels = leg.family === 4 ? families : [6 as const];
    lines.push(
      "",
      `protocol bgp ${leg.protocol} from lab_nodes {`,
      `  neighbor range ${leg.range} ${internal ? "internal" : `as ${nodeAs}`};`,
      `  dynamic name "${leg.protocol}_";`,
      ...channels.map((f) => `  ipv${f} { ${importOf(f, input.podCidrs)} export where source = RTS_BGP; };`),
      "}",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The segments a lab's nodes sit on, in the topology's order. */
function nodeSegments(topology: Pick<Topology, "segments" | "nodes">) {
  const used = new Set(topology.nodes.map((n) => n.segment));
  return topology.segments.filter((s) => used.has(s.name));
}

export interface LabBgpOptions {
  /** The nodes' AS (64512 by default). */
  readonly asNumber?: number;
  /** The router's AS: the nodes' (iBGP, the default) or another (eBGP). */
  readonly routerAsNumber?: number;
  readonly password?: string;
  /** Graceful restart with this restart time; absent: off. */
  readonly gracefulRestartSeconds?: number;
}

/**
 * The BgpConfig a lab writes before its agents start (pure): the router's primary address on each
 * node segment as a peer (a node peers with its own segment's router; one session carries both
 * families), hold 9 s / keepalive 3 s, and the node segments as the VPC (the VM sits on one).
 */
export function labBgpConfig(
  topology: Pick<Topology, "segments" | "nodes">,
  options: LabBgpOptions = {},
): BgpConfig {
  const asNumber = options.asNumber ?? 64512;
  const segments = nodeSegments(topology);
  return {
    asNumber,
    peers: segments.map((s) => ({
      name: `router-${s.name}`,
      address: s.gateway,
      asNumber: options.routerAsNumber ?? asNumber,
      ...(options.password === undefined ? {} : { password: options.password }),
    })),
    holdTimeSeconds: LAB_ROUTER_HOLD_TIME,
    keepaliveSeconds: LAB_ROUTER_KEEPALIVE,
    gracefulRestart: {
      enabled: options.gracefulRestartSeconds !== undefined,
      restartTimeSeconds: options.gracefulRestartSeconds ?? 120,
    },
    vpcCidrs: segments.flatMap((s) => segmentCidrs(s)),
  };
}

/** Router id when the lab has no IPv4 (BIRD needs one; the nodes' are hashes of their names then). */
export const LAB_ROUTER_FALLBACK_ID = "192.0.2.1";

/**
 * The router's part in a lab (pure): it listens on the segments that hold a node, its id is its
 * first IPv4 address, and it takes the nodes' AS, timers, graceful restart and password from the
 * lab's BgpConfig (whose peers are the router's addresses, in the router's AS: the nodes' AS for
 * iBGP, another for eBGP) — accepting only pod routes.
 */
export function labRouterBirdInput(
  topology: Pick<Topology, "segments" | "nodes">,
  bgp: BgpConfig,
  podCidrs: readonly string[],
): LabRouterBirdInput {
  const segments = nodeSegments(topology).map((s) => ({ name: s.name, cidrs: segmentCidrs(s) }));
  const routerId =
    topology.segments.flatMap((s) => segmentGateways(s)).find((g) => parseIP(g).family === 4) ??
    LAB_ROUTER_FALLBACK_ID;
  const password = bgp.peers.find((p) => p.password !== undefined)?.password;
  return {
    routerId,
    segments,
    asNumber: bgp.peers[0]?.asNumber ?? bgp.asNumber,
    nodeAsNumber: bgp.asNumber,
    holdTimeSeconds: bgp.holdTimeSeconds,
    keepaliveSeconds: bgp.keepaliveSeconds,
    podCidrs,
    ...(password === undefined ? {} : { password }),
    ...(bgp.gracefulRestart.enabled
      ? { gracefulRestartSeconds: bgp.gracefulRestart.restartTimeSeconds }
      : {}),
  };
}

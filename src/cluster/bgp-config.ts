/**
 * How nodes peer over BGP (`/podnet/bgp`, its own record beside the address plan so peering can
 * change on a running cluster): the nodes' AS, the peers (the segments' routers or route
 * reflectors), timers, graceful restart, an optional TCP MD5 password, and the "VPC" — the
 * destinations that see pods' real addresses instead of the node IP. Modelled on Calico's
 * BGPConfiguration and BGPPeer.
 *
 * Stored as versioned JSON; parseBgpConfig fills the defaults and validates every field before
 * any of it reaches a BIRD config (BIRD's config is a language: nothing unvalidated is rendered).
 */
import { BgpConfigError } from "./bgp-config-error.ts";
import { checkHold, checkInt, checkPassword, checkPeerAddress, checkPrefix } from "./bgp-field-checks.ts";
import {
  boolField,
  intField,
  objectField,
  readJSON,
  stringArrayField,
  stringField,
} from "./bgp-json-fields.ts";
import { NODE_NAME } from "./node-record.ts";

export { BgpConfigError } from "./bgp-config-error.ts";
export { MAX_PASSWORD_LENGTH } from "./bgp-field-checks.ts";

export interface BgpGracefulRestart {
  readonly enabled: boolean;
  /** How long peers keep a restarting node's routes (BGP graceful restart time). */
  readonly restartTimeSeconds: number;
}

/** Which nodes peer with a peer: all (absent), those with a node IP in a CIDR, or those named. */
export interface BgpPeerSelector {
  readonly cidr?: string;
  readonly nodes?: readonly string[];
}

export interface BgpPeer {
  /** Lowercase letters, digits and "-": names the peer in BIRD, metrics and explain. */
  readonly name: string;
  readonly address: string;
  /** The peer's AS: equal to the node's AS is iBGP, different is eBGP. */
  readonly asNumber: number;
  /** Override of the nodes' AS for this peer (eBGP per rack). */
  readonly localAsNumber?: number;
  /**
   * Absent: the nodes with a node IP on a subnet that holds the peer's address (the segment's
   * router) — a peer elsewhere needs a selector.
   */
  readonly selector?: BgpPeerSelector;
  /** TCP MD5 signature password (RFC 2385); kept in the datastore. */
  readonly password?: string;
  readonly holdTimeSeconds?: number;
  /** eBGP to a peer more than one hop away. */
  readonly multihop?: number;
  /** Accept routes whose AS path holds the node's own AS (eBGP with one AS on every node). */
  readonly allowLocalAs?: boolean;
}

export interface BgpConfig {
  /** The nodes' AS number (default 64512, a private AS). */
  readonly asNumber: number;
  /** Empty: no node peers, BGP is off. */
  readonly peers: readonly BgpPeer[];
  readonly holdTimeSeconds: number;
  readonly keepaliveSeconds: number;
  readonly gracefulRestart: BgpGracefulRestart;
  /**
   * Destinations inside the VPC: traffic from pods to them is not masqueraded. Empty: the node
   * networks (the subnets of the nodes' IPs).
   */
  readonly vpcCidrs: readonly string[];
}

export const DEFAULT_BGP_AS = 64512;
/** BIRD's and Cilium's default hold time; the lab sets 9 s for fast withdrawal. */
export const DEFAULT_BGP_HOLD_SECONDS = 90;
export const DEFAULT_BGP_KEEPALIVE_SECONDS = 30;
export const DEFAULT_BGP_RESTART_SECONDS = 120;
export const MAX_AS_NUMBER = 4294967295;
/** RFC 4724 §3: the Restart Time field has 12 bits. */
export const MAX_RESTART_SECONDS = 4095;
/** Lowercase letters, digits and inner "-", at most 32 characters (BIRD protocol names are built from it). */
export const BGP_PEER_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export const DEFAULT_BGP_CONFIG: BgpConfig = {
  asNumber: DEFAULT_BGP_AS,
  peers: [],
  holdTimeSeconds: DEFAULT_BGP_HOLD_SECONDS,
  keepaliveSeconds: DEFAULT_BGP_KEEPALIVE_SECONDS,
  gracefulRestart: { enabled: false, restartTimeSeconds: DEFAULT_BGP_RESTART_SECONDS },
  vpcCidrs: [],
};

/** The keepalive BIRD derives when only the hold time is given (hold/3; none when hold is 0). */
export function defaultKeepalive(holdTimeSeconds: number): number {
  return holdTimeSeconds === 0 ? 0 : Math.max(1, Math.floor(holdTimeSeconds / 3));
}

const CONFIG_FIELDS = [
  "version",
  "asNumber",
  "peers",
  "holdTimeSeconds",
  "keepaliveSeconds",
  "gracefulRestart",
  "vpcCidrs",
];
const PEER_FIELDS = [
  "name",
  "address",
  "asNumber",
  "localAsNumber",
  "selector",
  "password",
  "holdTimeSeconds",
  "multihop",
  "allowLocalAs",
];

function checkSelector(field: string, selector: BgpPeerSelector): BgpPeerSelector {
  if ((selector.cidr === undefined) === (selector.nodes === undefined))
    throw new BgpConfigError(field, "must give either cidr or nodes (one of them)");
  if (selector.cidr !== undefined) return { cidr: checkPrefix(`${field}.cidr`, selector.cidr) };
  const nodes = selector.nodes ?? [];
  if (nodes.length === 0) throw new BgpConfigError(`${field}.nodes`, "must name at least one node");
  nodes.forEach((node, i) => {
    if (!NODE_NAME.test(node))
      throw new BgpConfigError(`${field}.nodes[${i}]`, `"${node}" is not a node name`);
    if (nodes.indexOf(node) !== i)
      throw new BgpConfigError(`${field}.nodes[${i}]`, `"${node}" is named twice`);
  });
  return { nodes: [...nodes] };
}

function checkPeer(field: string, peer: BgpPeer, keepaliveSeconds: number): BgpPeer {
  if (!BGP_PEER_NAME.test(peer.name))
    throw new BgpConfigError(
      `${field}.name`,
      `"${peer.name}" must be 1 to 32 lowercase letters, digits and inner "-"`,
    );
  const hold =
    peer.holdTimeSeconds === undefined
      ? undefined
      : checkHold(`${field}.holdTimeSeconds`, peer.holdTimeSeconds);
  if (hold !== undefined && hold !== 0 && keepaliveSeconds >= hold)
    throw new BgpConfigError(
      `${field}.holdTimeSeconds`,
      `is ${hold}; must be above the keepalive time (keepaliveSeconds ${keepaliveSeconds})`,
    );
  if (peer.allowLocalAs !== undefined && typeof peer.allowLocalAs !== "boolean")
    throw new BgpConfigError(`${field}.allowLocalAs`, "must be true or false");
  return {
    name: peer.name,
    address: checkPeerAddress(`${field}.address`, peer.address),
    asNumber: checkInt(`${field}.asNumber`, peer.asNumber, 1, MAX_AS_NUMBER),
    ...(peer.localAsNumber !== undefined && {
      localAsNumber: checkInt(`${field}.localAsNumber`, peer.localAsNumber, 1, MAX_AS_NUMBER),
    }),
    ...(peer.selector !== undefined && { selector: checkSelector(`${field}.selector`, peer.selector) }),
    ...(peer.password !== undefined && { password: checkPassword(`${field}.password`, peer.password) }),
    ...(hold !== undefined && { holdTimeSeconds: hold }),
    ...(peer.multihop !== undefined && { multihop: checkInt(`${field}.multihop`, peer.multihop, 1, 255) }),
    ...(peer.allowLocalAs !== undefined && { allowLocalAs: peer.allowLocalAs }),
  };
}

/**
 * Checks every field and returns the config in canonical form (addresses and prefixes as
 * ipnet formats them); throws BgpConfigError naming the first field that cannot be used.
 */
export function validateBgpConfig(config: BgpConfig): BgpConfig {
  const asNumber = checkInt("asNumber", config.asNumber, 1, MAX_AS_NUMBER);
  const hold = checkHold("holdTimeSeconds", config.holdTimeSeconds);
  const keepalive = config.keepaliveSeconds;
  if (hold === 0 && keepalive !== 0)
    throw new BgpConfigError("keepaliveSeconds", `is ${keepalive}; must be 0 when holdTimeSeconds is 0`);
  if (hold !== 0 && Number.isSafeInteger(keepalive) && keepalive >= hold)
    throw new BgpConfigError("keepaliveSeconds", `is ${keepalive}; must be below holdTimeSeconds (${hold})`);
  if (hold !== 0) checkInt("keepaliveSeconds", keepalive, 1, hold - 1);
  const gr = config.gracefulRestart;
  if (typeof gr.enabled !== "boolean")
    throw new BgpConfigError("gracefulRestart.enabled", "must be true or false");
  checkInt("gracefulRestart.restartTimeSeconds", gr.restartTimeSeconds, 1, MAX_RESTART_SECONDS);
  const vpcCidrs = config.vpcCidrs.map((c, i) => checkPrefix(`vpcCidrs[${i}]`, c));
  vpcCidrs.forEach((c, i) => {
    if (vpcCidrs.indexOf(c) !== i) throw new BgpConfigError(`vpcCidrs[${i}]`, `"${c}" is listed twice`);
  });
  const peers = config.peers.map((p, i) => checkPeer(`peers[${i}]`, p, keepalive));
  peers.forEach((p, i) => {
    const first = peers.findIndex((q) => q.name === p.name || q.address === p.address);
    if (first !== i)
      throw new BgpConfigError(
        `peers[${i}]`,
        `repeats the ${peers[first]?.name === p.name ? `name "${p.name}"` : `address ${p.address}`} of peers[${first}]`,
      );
  });
  return {
    asNumber,
    peers,
    holdTimeSeconds: hold,
    keepaliveSeconds: keepalive,
    gracefulRestart: { enabled: gr.enabled, restartTimeSeconds: gr.restartTimeSeconds },
    vpcCidrs,
  };
}

function peerFromJSON(value: unknown, field: string): BgpPeer {
  const r = objectField(value, field, PEER_FIELDS);
  const name = stringField(r, "name", field);
  const address = stringField(r, "address", field);
  const asNumber = intField(r, "asNumber", field);
  if (name === undefined) throw new BgpConfigError(`${field}.name`, "is missing");
  if (address === undefined) throw new BgpConfigError(`${field}.address`, "is missing");
  if (asNumber === undefined) throw new BgpConfigError(`${field}.asNumber`, "is missing");
  const localAsNumber = intField(r, "localAsNumber", field);
  const password = stringField(r, "password", field);
  const holdTimeSeconds = intField(r, "holdTimeSeconds", field);
  const multihop = intField(r, "multihop", field);
  const allowLocalAs = boolField(r, "allowLocalAs", field);
  let selector: BgpPeerSelector | undefined;
  if (r.selector !== undefined) {
    const s = objectField(r.selector, `${field}.selector`, ["cidr", "nodes"]);
    const cidr = stringField(s, "cidr", `${field}.selector`);
    const nodes = stringArrayField(s, "nodes", `${field}.selector`);
    selector = { ...(cidr !== undefined && { cidr }), ...(nodes !== undefined && { nodes }) };
  }
  return {
    name,
    address,
    asNumber,
    ...(localAsNumber !== undefined && { localAsNumber }),
    ...(selector !== undefined && { selector }),
    ...(password !== undefined && { password }),
    ...(holdTimeSeconds !== undefined && { holdTimeSeconds }),
    ...(multihop !== undefined && { multihop }),
    ...(allowLocalAs !== undefined && { allowLocalAs }),
  };
}

/** A parsed JSON value as a validated config; absent fields take the defaults. */
export function bgpConfigFromJSON(value: unknown): BgpConfig {
  const r = objectField(value, "", CONFIG_FIELDS);
  const version = intField(r, "version", "");
  if (version !== undefined && version !== 1)
    throw new BgpConfigError("version", `is ${version}; only version 1 is known`);
  const holdTimeSeconds = intField(r, "holdTimeSeconds", "") ?? DEFAULT_BGP_HOLD_SECONDS;
  const gr =
    r.gracefulRestart === undefined
      ? {}
      : objectField(r.gracefulRestart, "gracefulRestart", ["enabled", "restartTimeSeconds"]);
  const peers = r.peers ?? [];
  if (!Array.isArray(peers)) throw new BgpConfigError("peers", "must be an array");
  return validateBgpConfig({
    asNumber: intField(r, "asNumber", "") ?? DEFAULT_BGP_AS,
    peers: peers.map((p: unknown, i) => peerFromJSON(p, `peers[${i}]`)),
    holdTimeSeconds,
    keepaliveSeconds: intField(r, "keepaliveSeconds", "") ?? defaultKeepalive(holdTimeSeconds),
    gracefulRestart: {
      enabled: boolField(gr, "enabled", "gracefulRestart") ?? false,
      restartTimeSeconds:
        intField(gr, "restartTimeSeconds", "gracefulRestart") ?? DEFAULT_BGP_RESTART_SECONDS,
    },
    vpcCidrs: stringArrayField(r, "vpcCidrs", "") ?? [],
  });
}

/** The stored record's text (`/podnet/bgp`) as a validated config. */
export function parseBgpConfig(text: string): BgpConfig {
  return bgpConfigFromJSON(readJSON(text));
}

export function bgpConfigToJSON(config: BgpConfig): { version: 1 } & BgpConfig {
  return { version: 1, ...validateBgpConfig(config) };
}

/** The record's text; refuses an invalid config rather than storing it. */
export function encodeBgpConfig(config: BgpConfig): string {
  return JSON.stringify(bgpConfigToJSON(config));
}

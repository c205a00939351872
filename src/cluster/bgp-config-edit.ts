/**
 * The changes `podnet cluster bgp set|add-peer|remove-peer` make to a BGP config (pure): each
 * returns a validated new config or throws naming what is wrong, so the store writes only
 * configs that passed.
 */
import type { BgpConfig, BgpPeer } from "./bgp-config.ts";
import { DEFAULT_BGP_CONFIG, defaultKeepalive, validateBgpConfig } from "./bgp-config.ts";

/** Node-wide settings to change; absent fields keep their value. */
export interface BgpSettingsChange {
  readonly asNumber?: number;
  /** Without keepaliveSeconds, the keepalive becomes a third of it (BIRD's rule). */
  readonly holdTimeSeconds?: number;
  readonly keepaliveSeconds?: number;
  readonly gracefulRestart?: boolean;
  readonly restartTimeSeconds?: number;
  /** Replaces the list (an empty list: the node networks). */
  readonly vpcCidrs?: readonly string[];
}

export class BgpPeerExistsError extends Error {
  override readonly name = "BgpPeerExistsError";
  constructor(readonly peer: string) {
    super(`BGP peer "${peer}" exists already (remove it first to change it)`);
  }
}

export class BgpPeerNotFoundError extends Error {
  override readonly name = "BgpPeerNotFoundError";
  constructor(
    readonly peer: string,
    known: readonly string[],
  ) {
    super(
      `No BGP peer named "${peer}" (${known.length === 0 ? "there are no peers" : `peers: ${known.join(", ")}`})`,
    );
  }
}

export function changeBgpSettings(current: BgpConfig | undefined, change: BgpSettingsChange): BgpConfig {
  const base = current ?? DEFAULT_BGP_CONFIG;
  const holdTimeSeconds = change.holdTimeSeconds ?? base.holdTimeSeconds;
  const keepaliveSeconds =
    change.keepaliveSeconds ??
    (change.holdTimeSeconds === undefined ? base.keepaliveSeconds : defaultKeepalive(holdTimeSeconds));
  return validateBgpConfig({
    asNumber: change.asNumber ?? base.asNumber,
    peers: base.peers,
    holdTimeSeconds,
    keepaliveSeconds,
    gracefulRestart: {
      enabled: change.gracefulRestart ?? base.gracefulRestart.enabled,
      restartTimeSeconds: change.restartTimeSeconds ?? base.gracefulRestart.restartTimeSeconds,
    },
    vpcCidrs: change.vpcCidrs ?? base.vpcCidrs,
  });
}

/** Adds a peer (a config with the defaults when there is none yet); refuses a name in use. */
export function addBgpPeer(current: BgpConfig | undefined, peer: BgpPeer): BgpConfig {
  const base = current ?? DEFAULT_BGP_CONFIG;
  if (base.peers.some((p) => p.name === peer.name)) throw new BgpPeerExistsError(peer.name);
  return validateBgpConfig({ ...base, peers: [...base.peers, peer] });
}

export function removeBgpPeer(current: BgpConfig | undefined, name: string): BgpConfig {
  const peers = current?.peers ?? [];
  if (!current || !peers.some((p) => p.name === name))
    throw new BgpPeerNotFoundError(
      name,
      peers.map((p) => p.name),
    );
  return validateBgpConfig({ ...current, peers: peers.filter((p) => p.name !== name) });
}

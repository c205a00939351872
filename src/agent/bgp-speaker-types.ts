/** The BGP speaker's inputs, options and BIRD runner (bgp-speaker.ts). */
import type { BgpConfig } from "../cluster/bgp-config.ts";
import type { Logger } from "../daemon/log.ts";
import type { PerFamily } from "../ipam/node-block-length.ts";
import type { IPAddress } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import type { BirdHandle, StartBirdOptions } from "../linux/bird-process.ts";
import type { BgpStatus } from "./bgp-status.ts";

export interface BgpSpeakerInputs {
  readonly config: BgpConfig;
  /** The node's leased blocks: exactly what it announces. */
  readonly blocks: readonly IPPrefix[];
  readonly uplink: {
    readonly name: string;
    readonly addresses: readonly IPAddress[];
    readonly connected: readonly IPPrefix[];
  };
}

/** How the speaker runs BIRD: linux/bird-process.ts, or a fake in tests. */
export interface BirdRunner {
  start(options: StartBirdOptions): Promise<BirdHandle>;
  /** Throws (BirdConfigError) unless BIRD accepts the file. */
  check(path: string): void;
  /** Stops a BIRD a previous agent left on the control socket; true when there was one. */
  retireStale(ctlPath: string, graceful: boolean): Promise<boolean>;
}

export interface BgpSpeakerOptions {
  readonly nodeName: string;
  /** Holds bird.conf, bird.ctl, bird.pid and router-id (created 0700). */
  readonly stateDir: string;
  /** The node's named namespace, or null when the agent already runs inside it. */
  readonly netns: string | null;
  readonly clusterCidrs: readonly IPPrefix[];
  readonly nodeBlockLength: PerFamily<number>;
  readonly log: Logger;
  readonly runner?: BirdRunner;
  readonly statusIntervalMs?: number;
  /** Called after every poll and every change of the status. */
  readonly onStatus?: (status: BgpStatus) => void;
  /**
   * Called once, in the speaker's loop, when its first sync finds no peer for the node and no
   * BIRD of its own: the moment to clear what a BIRD of an earlier agent left (bgp-leftovers.ts).
   */
  readonly onIdle?: () => Promise<void>;
}

export type BgpStopMode = "withdraw" | "graceful";

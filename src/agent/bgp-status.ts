/**
 * What the node's BGP speaker reports (pure): per selected peer, the session state BIRD last
 * showed (`show protocols all`, polled every 2 s), for metrics and `podnet explain`; plus the
 * speaker's own health (BIRD running, reloads, restarts, the last error).
 */
import type { Family } from "../ipnet/address.ts";
import { formatIP } from "../ipnet/address.ts";
import type { BgpChannelRoutes, BgpSessionFact, BirdProtocolState } from "../linux/bird-status-parse.ts";
import type { BgpSession } from "./bgp-peers.ts";

export interface BgpSessionStatus {
  readonly peer: string;
  readonly protocol: string;
  readonly neighbor: string;
  readonly localAddress: string;
  readonly asNumber: number;
  readonly localAsNumber: number;
  readonly kind: "ibgp" | "ebgp";
  /** BIRD's protocol state; "unknown" before the first poll or when BIRD does not list it. */
  readonly state: BirdProtocolState | "unknown";
  /** BGP FSM state (Idle, Connect, Active, OpenSent, OpenConfirm, Established) or "unknown". */
  readonly bgpState: string;
  readonly established: boolean;
  /** When the protocol last changed state, as BIRD prints it (`timeformat protocol iso long`). */
  readonly since?: string;
  /** Seconds the session has been Established, at the poll. */
  readonly establishedSeconds?: number;
  readonly lastError?: string;
  readonly routes: readonly BgpChannelRoutes[];
}

export interface BgpStatus {
  /** Some peer selects this node: BIRD should run. */
  readonly enabled: boolean;
  readonly running: boolean;
  readonly pid?: number;
  readonly routerId?: string;
  /** Blocks the node announces (its static protocol's routes). */
  readonly announced: readonly string[];
  readonly sessions: readonly BgpSessionStatus[];
  readonly skipped: readonly { readonly peer: string; readonly reason: string }[];
  readonly unannounced: readonly { readonly family: Family; readonly reason: string }[];
  readonly reloads: { readonly ok: number; readonly failed: number };
  /** BIRD exits nobody asked for (each followed by a restart). */
  readonly restarts: number;
  readonly lastError?: string;
  /** ISO time of the last successful status poll. */
  readonly polledAt?: string;
}

export const EMPTY_BGP_STATUS: BgpStatus = {
  enabled: false,
  running: false,
  announced: [],
  sessions: [],
  skipped: [],
  unannounced: [],
  reloads: { ok: 0, failed: 0 },
  restarts: 0,
};

/** BIRD's `iso long` time ("2026-12-06 16:47:29", the host's local time) as a Date. */
export function birdTimeToDate(text: string): Date | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Math.round(Number(`0.${m[7]}`) * 1000);
  return new Date(y, mo - 1, d, h, mi, s, ms);
}

/** Joins the sessions the speaker configured with what BIRD said about them. */
export function sessionStatuses(
  sessions: readonly BgpSession[],
  facts: readonly BgpSessionFact[] | undefined,
  now: Date,
): BgpSessionStatus[] {
  return sessions.map((s) => {
    const fact = facts?.find((f) => f.protocol === s.protocol);
    const established = fact?.state === "up" && fact.bgpState === "Established";
    const since = fact?.since;
    const sinceDate = since === undefined ? undefined : birdTimeToDate(since);
    const seconds =
      established && sinceDate !== undefined
        ? Math.max(0, Math.floor((now.getTime() - sinceDate.getTime()) / 1000))
        : undefined;
    return {
      peer: s.peer,
      protocol: s.protocol,
      neighbor: formatIP(s.address),
      localAddress: formatIP(s.localAddress),
      asNumber: s.asNumber,
      localAsNumber: s.localAsNumber,
      kind: s.kind,
      state: fact?.state ?? "unknown",
      bgpState: fact?.bgpState || "unknown",
      established,
      ...(since === undefined ? {} : { since }),
      ...(seconds === undefined ? {} : { establishedSeconds: seconds }),
      ...(fact?.lastError === undefined ? {} : { lastError: fact.lastError }),
      routes: fact?.routes ?? [],
    };
  });
}

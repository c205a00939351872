/** The block-lease part of the cluster benchmark's report (pure): claims per second, latencies, lost races, verification. */

import type { Summary } from "../support/stats.ts";
import { round3, roundSummary, summarize } from "../support/stats.ts";
import type { LeaseRound, LeaseVerification } from "./block-leases-bench.ts";

export interface LeaseInput {
  readonly agents: number;
  readonly etcdMembers: number;
  readonly rounds: readonly LeaseRound[];
}

export interface LeaseReport {
  readonly agents: number;
  readonly etcdMembers: number;
  readonly rounds: number;
  /** Blocks claimed / seconds, over every round. */
  readonly blocksPerSecond: number;
  readonly claimMs: Summary;
  readonly grantMs: Summary;
  readonly connectMs: Summary;
  readonly lostRaces: { readonly total: number; readonly maxPerClaim: number };
  readonly allVerified: boolean;
  readonly perRound: readonly {
    readonly seconds: number;
    readonly blocksPerSecond: number;
    readonly lostRaces: number;
    readonly verification: LeaseVerification;
  }[];
}

export function leaseReport(l: LeaseInput): LeaseReport | null {
  const claims = l.rounds.flatMap((r) => r.claims);
  if (claims.length === 0) return null;
  const seconds = l.rounds.reduce((s, r) => s + r.seconds, 0);
  return {
    agents: l.agents,
    etcdMembers: l.etcdMembers,
    rounds: l.rounds.length,
    blocksPerSecond: round3(claims.length / seconds),
    claimMs: roundSummary(
      summarize(
        claims.map((c) => c.claimMs),
        "block claims",
      ),
    ),
    grantMs: roundSummary(
      summarize(
        claims.map((c) => c.grantMs),
        "lease grants",
      ),
    ),
    connectMs: roundSummary(
      summarize(
        l.rounds.flatMap((r) => r.connectMs),
        "connections",
      ),
    ),
    lostRaces: {
      total: claims.reduce((s, c) => s + c.conflicts, 0),
      maxPerClaim: claims.reduce((m, c) => Math.max(m, c.conflicts), 0),
    },
    allVerified: l.rounds.every((r) => r.verification.ok),
    perRound: l.rounds.map((r) => ({
      seconds: round3(r.seconds),
      blocksPerSecond: round3(r.claims.length / r.seconds),
      lostRaces: r.claims.reduce((s, c) => s + c.conflicts, 0),
      verification: r.verification,
    })),
  };
}

/**
 * The node's BGP status as the datastore record `podnet cluster bgp show` reads (pure): one row
 * per session with BIRD's BGP state, since when (BIRD's local time made ISO 8601), and routes
 * received and advertised over all families. The record is written only when this changes, so
 * its signature leaves out the write time and the session ages that every poll moves.
 */
import type { BgpSessionRecord, BgpStatusRecord } from "../cluster/bgp-status-records.ts";
import { type BgpStatus, birdTimeToDate } from "./bgp-status.ts";

export function bgpStatusRecord(node: string, status: BgpStatus, now: Date): BgpStatusRecord {
  const sessions = status.sessions.map((s): BgpSessionRecord => {
    const since = s.since === undefined ? undefined : birdTimeToDate(s.since);
    return {
      peer: s.peer,
      neighbor: s.neighbor,
      localAsNumber: s.localAsNumber,
      asNumber: s.asNumber,
      state: s.bgpState,
      ...(since === undefined ? {} : { since: since.toISOString() }),
      received: s.routes.reduce((n, r) => n + r.imported, 0),
      advertised: s.routes.reduce((n, r) => n + r.exported, 0),
      ...(s.lastError === undefined ? {} : { lastError: s.lastError }),
    };
  });
  return {
    node,
    updatedAt: now.toISOString(),
    running: status.running,
    ...(status.routerId === undefined ? {} : { routerId: status.routerId }),
    announced: status.announced,
    sessions,
    ...(status.lastError === undefined ? {} : { lastError: status.lastError }),
  };
}

/** What makes a record worth writing again: everything but the time it was written. */
export function bgpRecordSignature(record: BgpStatusRecord): string {
  const { updatedAt: _, ...rest } = record;
  return JSON.stringify(rest);
}

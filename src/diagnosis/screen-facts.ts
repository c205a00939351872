/**
 * A backstop against answers the diagnosis cannot read (pure): every node's facts are run through
 * the drift readers and the fact printers on their own; a node whose answer makes one throw (a
 * field of the wrong type from an agent of another version, a reader bug) is left out and listed
 * as missing with the reason, instead of taking explain or trace down for the whole cluster. The
 * records' own validation (cluster/diagnosis-records.ts) is the first line; this is the second.
 */
import { errorText } from "../base/error-text.ts";
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import { findDrift } from "./drift.ts";
import { fdbText, neighbourText, routeText, tupleText } from "./fact-text.ts";

export interface ScreenedFacts {
  readonly facts: NodeFacts[];
  readonly missing: { node: string; reason: string }[];
}

function readAll(snapshot: ClusterSnapshot, f: NodeFacts): void {
  findDrift(snapshot, [f]);
  for (const r of f.routes) routeText(r);
  for (const n of f.neighbours) neighbourText(n);
  for (const e of f.fdb) fdbText(e);
  for (const c of f.conntrack) {
    tupleText(c.original);
    tupleText(c.reply);
    c.flags.join(",");
  }
  for (const l of f.routeLookups) if (l.route) routeText(l.route);
}

export function screenFacts(snapshot: ClusterSnapshot, facts: readonly NodeFacts[]): ScreenedFacts {
  const kept: NodeFacts[] = [];
  const missing: { node: string; reason: string }[] = [];
  for (const f of facts) {
    try {
      readAll(snapshot, f);
      kept.push(f);
    } catch (e) {
      missing.push({
        node: f.node,
        reason: `answered facts podnet cannot read: ${errorText(e)}`,
      });
    }
  }
  return { facts: kept, missing };
}

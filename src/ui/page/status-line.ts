/**
 * The page's status line (pure): which datastore, the revision and version shown, what the map
 * holds, and whether it is live — or stale, since when and why: the server cannot read or watch
 * its datastore (the map's `stale`), or the page lost the server's event stream.
 */
import type { ClusterMap } from "../map-types.ts";

/** The page's event stream: not opened yet, open, or down since an ISO time (reconnecting). */
export type StreamState =
  | { readonly state: "connecting" }
  | { readonly state: "open" }
  | { readonly state: "down"; readonly since: string };

export interface StatusLine {
  readonly text: string;
  /** Shown in the warning style: the map may no longer be what the cluster is. */
  readonly stale: boolean;
}

/** "2026-12-06 13:50:01 UTC" (an ISO time without its milliseconds), or the text as given when it is no time. */
export function shownTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function statusLine(m: ClusterMap, stream: StreamState): StatusLine {
  const pods = m.nodes.reduce((n, node) => n + node.blocks.reduce((k, b) => k + b.pods.length, 0), 0);
  const shown = `${m.store} · rev ${m.revision} · v${m.version} · ${m.nodes.length} nodes, ${pods} pods, ${m.services.length} Services`;
  // The page's own stream first: while it is down, what the server says about its datastore is old too.
  if (stream.state === "down")
    return {
      text: `${shown} · stale since ${shownTime(stream.since)}: the server's event stream is down (reconnecting…)`,
      stale: true,
    };
  if (m.stale !== undefined)
    return { text: `${shown} · stale since ${shownTime(m.stale.since)}: ${m.stale.reason}`, stale: true };
  return { text: `${shown} · ${stream.state === "open" ? "live" : "connecting…"}`, stale: false };
}

/**
 * A node's BIRD as its box on the map says it (pure): "BGP 1/1 up", "BGP 0/1 up", "BIRD not
 * running", "no BGP peer" — `down` when BGP cannot be carrying all of the node's routes.
 */
import type { MapNodeBgp } from "../map-types.ts";

export interface NodeBgpText {
  readonly text: string;
  /** A one-line reading for the node's tooltip. */
  readonly detail: string;
  readonly down: boolean;
}

export function nodeBgpText(b: MapNodeBgp): NodeBgpText {
  if (!b.enabled)
    return { text: "no BGP peer", detail: "no BGP peer of the cluster's BGP config selects it", down: true };
  if (!b.running)
    return { text: "BIRD not running", detail: "BGP peers configured, BIRD not running", down: true };
  return {
    text: `BGP ${b.established}/${b.sessions} up`,
    detail: `BIRD running, ${b.established} of ${b.sessions} BGP session(s) Established (click the node IP for each)`,
    down: b.sessions === 0 || b.established < b.sessions,
  };
}

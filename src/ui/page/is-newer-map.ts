/**
 * Whether a map that arrived should replace the one drawn (pure). `/api/map` and the event stream
 * race at start, so an older answer can arrive after a newer one: it is dropped. A restarted server
 * counts its versions from 1 again, so a lower version that was generated later still wins.
 */
import type { ClusterMap } from "../map-types.ts";

export function isNewerMap(
  drawn: Pick<ClusterMap, "version" | "generatedAt"> | undefined,
  arrived: Pick<ClusterMap, "version" | "generatedAt">,
): boolean {
  if (drawn === undefined) return true;
  if (arrived.version > drawn.version) return true;
  // Both are ISO-8601 UTC times from toISOString, so they compare as strings.
  return arrived.version < drawn.version && arrived.generatedAt > drawn.generatedAt;
}

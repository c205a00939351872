/**
 * Whether a JSON value from the server is a ClusterMap the page can draw (pure): the schema and the
 * arrays the drawing walks. The server builds it from validated data; this keeps a foreign or torn
 * document from reaching the drawing code.
 */
import { type ClusterMap, MAP_SCHEMA } from "../map-types.ts";

const ARRAYS = [
  "segments",
  "routers",
  "nodes",
  "links",
  "services",
  "hosts",
  "drift",
  "missing",
  "clusterCidrs",
  "serviceCidrs",
] as const;

export function isClusterMap(x: unknown): x is ClusterMap {
  if (typeof x !== "object" || x === null) return false;
  const m = x as Record<string, unknown>;
  if (m.schema !== MAP_SCHEMA || typeof m.version !== "number") return false;
  if (!ARRAYS.every((k) => Array.isArray(m[k]))) return false;
  if (m.stale !== undefined) {
    const st = m.stale as Record<string, unknown> | null;
    if (
      typeof st !== "object" ||
      st === null ||
      typeof st.since !== "string" ||
      typeof st.reason !== "string"
    )
      return false;
  }
  return (m.nodes as unknown[]).every((n) => {
    if (typeof n !== "object" || n === null) return false;
    const node = n as Record<string, unknown>;
    return (
      typeof node.name === "string" &&
      Array.isArray(node.nodeIPs) &&
      Array.isArray(node.blocks) &&
      (node.blocks as unknown[]).every(
        (b) => typeof b === "object" && b !== null && Array.isArray((b as { pods?: unknown }).pods),
      )
    );
  });
}

/**
 * The lines the map draws between nodes (pure): one per pair of nodes and way — straight between
 * them, or through the router their routes' next hop is — holding both directions' routes. Its
 * style follows the kinds of its routes (BGP over VXLAN over direct), its label names them, and it
 * is a warning when any of its routes is not what the datastore says.
 */
import type { ClusterMap, LinkKind, MapLink } from "../map-types.ts";

export interface LinkLine {
  /** The pair, in the order of the first route seen. */
  readonly from: string;
  readonly to: string;
  /** The router the line goes through (a MapRouter's name); absent: straight between the nodes. */
  readonly router?: string;
  /** The style: the most telling kind of its routes. */
  readonly style: LinkKind;
  /** "BGP / direct", "BGP via router", "VXLAN ⚠ drift": the active route's kind first. */
  readonly label: string;
  readonly ok: boolean;
  /** One line per route: `from → to (block): route`. */
  readonly tooltip: string;
  readonly links: readonly MapLink[];
}

const KIND_TEXT: Readonly<Record<LinkKind, string>> = { direct: "direct", vxlan: "VXLAN", bgp: "BGP" };
/** A line with several kinds (auto: BIRD's route over podnet's backup) is drawn as the first here. */
const STYLE_ORDER: readonly LinkKind[] = ["bgp", "vxlan", "direct"];

/** Beyond a dozen nodes every pair is too many lines: only the focused node's and the broken ones. */
const ALL_LINES_UP_TO = 12;

export function linkLines(map: ClusterMap, focus: string | undefined): LinkLine[] {
  const groups = new Map<string, MapLink[]>();
  for (const l of map.links) {
    const key = [[l.from, l.to].sort().join("\u0000"), l.router ?? ""].join("\u0001");
    groups.set(key, [...(groups.get(key) ?? []), l]);
  }
  const all = map.nodes.length <= ALL_LINES_UP_TO;
  const out: LinkLine[] = [];
  for (const links of groups.values()) {
    const first = links[0];
    if (first === undefined) continue;
    const ok = links.every((l) => l.ok);
    if (!all && ok && focus !== first.from && focus !== first.to) continue;
    const kinds = new Set(links.map((l) => l.kind));
    const style = STYLE_ORDER.find((k) => kinds.has(k)) ?? first.kind;
    const names = STYLE_ORDER.filter((k) => kinds.has(k))
      .map((k) => KIND_TEXT[k])
      .join(" / ");
    const via = first.router === undefined ? "" : ` via ${first.router}`;
    out.push({
      from: first.from,
      to: first.to,
      ...(first.router !== undefined ? { router: first.router } : {}),
      style,
      label: `${names}${via}${ok ? "" : " ⚠ drift"}`,
      ok,
      tooltip: links
        .map(
          (l) =>
            `${l.from} → ${l.to} (${l.block}): ${l.route}${l.ok ? "" : "  ⚠ not what the datastore says"}`,
        )
        .join("\n"),
      links,
    });
  }
  return out;
}

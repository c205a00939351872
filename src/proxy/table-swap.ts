/**
 * How a full sync replaces the proxy's table of a family (pure). nft parses an element in about
 * 15 µs, so at 10,000 Services (some 130,000 elements) parsing is most of a full sync; the kernel
 * takes the same elements over netlink in a tenth of that (linux/netlink/nft-element-loader.ts).
 * But the elements cannot join nft's transaction, and a table seen half-filled would drop
 * connections. So the new table is built beside the old one, inert, under the other of the two
 * names (linux/nft-table-family.ts PROXY_TABLE_NAMES):
 *
 * 1. `build` (one nft transaction): a fresh table with every set, map and chain but the base
 *    chains — nothing hooks it, no packet sees it — with the elements nft must parse itself (the
 *    interval sets, and everything when netlink is not used);
 * 2. `loads`: the other elements, over netlink in batches (no packet sees them before step 3, so
 *    they need not be one transaction; a failure drops the new table);
 * 3. `swap` (one nft transaction): delete the old table and add the base chains to the new one.
 *
 * Packets see the old table until step 3 commits and the new one, complete, after it. The caller
 * names the new table (linux/nft-chain-list.ts swapTarget) and says which sets the netlink encoder
 * takes (linux/netlink/nft-element-types.ts elementLayout), so this stays pure.
 */
import type { NftChain, NftFamily, NftNamedSet } from "./nft-model.ts";
import { chainDeclaration, dropTableText } from "./nft-model.ts";
import { TableText } from "./render-nft.ts";
import type { TableContent } from "./table-content.ts";

/** Elements for the netlink loader: a set's name, how its elements are encoded, their texts. */
export interface SwapLoad<Layout> {
  readonly name: string;
  readonly layout: Layout;
  readonly elements: readonly string[];
}

export interface SwapPlan<Layout> {
  readonly family: NftFamily;
  /** The name the new table is built under. */
  readonly target: string;
  readonly build: string;
  /** Elements for the netlink loader (none when it is not used). */
  readonly loads: readonly SwapLoad<Layout>[];
  readonly swap: string;
}

/**
 * The three steps that replace table `live` (undefined: there is none) with `content`, built as
 * `target`. `layoutOf` gives a set's netlink encoding, or undefined when nft must parse its
 * elements; pass `() => undefined` when netlink is not used: then `build` carries them all.
 */
export function planSwap<Layout>(
  content: TableContent,
  live: string | undefined,
  target: string,
  layoutOf: (set: NftNamedSet) => Layout | undefined,
): SwapPlan<Layout> {
  if (target === live) throw new RangeError(`a new table cannot be built as ${target}, the table in use`);
  const family = content.family;
  const writer = new TableText(family, target);
  const loads: SwapLoad<Layout>[] = [];
  for (const { set, elements } of content.sets) {
    const layout = elements.length > 0 ? layoutOf(set) : undefined;
    if (layout === undefined) {
      writer.set(set, elements);
      continue;
    }
    writer.set(set, []);
    loads.push({ name: set.name, layout, elements });
  }
  const base: NftChain[] = [];
  for (const chain of content.chains) {
    if (chain.hook) base.push(chain);
    else writer.chain(chain);
  }
  return { family, target, build: writer.text(), loads, swap: swapText(family, target, live, base) };
}

/** Deletes the old table and hooks the new one: its base chains, declared and filled. */
function swapText(
  family: NftFamily,
  target: string,
  live: string | undefined,
  base: readonly NftChain[],
): string {
  // `add` first: a table someone deleted meanwhile must not make the swap fail.
  const lines: string[] = live === undefined ? [] : [dropTableText(family, live).trimEnd()];
  for (const chain of base) {
    lines.push(`add chain ${family} ${target} ${chain.name} { ${chainDeclaration(chain)} }`);
    for (const rule of chain.rules) lines.push(`add rule ${family} ${target} ${chain.name} ${rule}`);
  }
  return `${lines.join("\n")}\n`;
}

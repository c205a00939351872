/**
 * What a full sync puts into the kernel, as data (pure): every set and map of one family's table
 * with its elements as nft element texts, and every chain. The table's name is not part of it —
 * a full sync builds the table under whichever of the two names is free (table-swap.ts) — and
 * tableText gives renderNft's text for any name, byte for byte, which is what the golden files and
 * the equivalence tests check.
 */
import type { NftChain, NftFamily, NftNamedSet, Ruleset } from "./nft-model.ts";
import { allChains, allSets, elementText, TABLE_NAME } from "./nft-model.ts";
import { TableText } from "./render-nft.ts";

/** A set or map and the texts of the elements it holds (its own `elements` are not read). */
export interface TableSet {
  readonly set: NftNamedSet;
  readonly elements: readonly string[];
}

export interface TableContent {
  readonly family: NftFamily;
  /** In the order renderNft writes them. */
  readonly sets: readonly TableSet[];
  /** Base chains first, as renderNft writes them. */
  readonly chains: readonly NftChain[];
}

/** The element texts a set or map holds itself. */
export function ownElementTexts(set: NftNamedSet): string[] {
  if (set.kind === "set") return [...set.elements];
  const out: string[] = [];
  for (const [key, value] of set.elements) out.push(elementText(key, value));
  return out;
}

/** A whole Ruleset as content (Service elements merged into the shared sets). */
export function rulesetContent(ruleset: Ruleset): TableContent {
  return {
    family: ruleset.family,
    sets: [...allSets(ruleset)].map((set) => ({ set, elements: ownElementTexts(set) })),
    chains: [...allChains(ruleset)],
  };
}

/** The `nft -f` text that replaces table `name` with `content` in one transaction (renderNft's). */
export function tableText(content: TableContent, name: string = TABLE_NAME): string {
  const writer = new TableText(content.family, name);
  for (const { set, elements } of content.sets) writer.set(set, elements);
  for (const chain of content.chains) writer.chain(chain);
  return writer.text();
}

/** How many elements the content holds (for logs and benchmarks). */
export function elementCount(content: TableContent): number {
  let n = 0;
  for (const s of content.sets) n += s.elements.length;
  return n;
}

/**
 * A Ruleset as the text of one `nft -f` transaction that replaces podnet's table and nothing
 * else: `add table` (so the delete cannot fail on a first run), `delete table`, then the table in
 * full. nft applies a file atomically, so packets see either the old table or the new one.
 *
 * TableText writes that text piece by piece; renderNft feeds it a whole Ruleset, proxy-state.ts
 * feeds it one Service at a time without ever holding every Service's rules at once.
 */
import type { NftChain, NftNamedSet, Ruleset } from "./nft-model.ts";
import {
  allChains,
  allSets,
  chainDeclaration,
  dropTableText,
  elementText,
  setDeclaration,
} from "./nft-model.ts";

/** The element texts of a set or map as the Ruleset holds them. */
function elementTexts(set: NftNamedSet): Iterable<string> {
  if (set.kind === "set") return set.elements;
  return (function* () {
    for (const [key, value] of set.elements) yield elementText(key, value);
  })();
}

export class TableText {
  // Pieces are collected and joined once: 100,000 elements must not cost quadratic copying.
  private readonly out: string[];
  private first = true;

  constructor(family: string, table: string) {
    this.out = [`${dropTableText(family, table)}table ${family} ${table} {\n`];
  }

  private separate(): void {
    if (!this.first) this.out.push("\n");
    this.first = false;
  }

  /** A set or map block; `texts` replaces the set's own elements (element texts, in order). */
  set(set: NftNamedSet, texts: Iterable<string> = elementTexts(set)): void {
    this.separate();
    const out = this.out;
    out.push(`\t${set.kind} ${set.name} {\n\t\t${setDeclaration(set)}\n`);
    let first = true;
    for (const text of texts) {
      out.push(first ? `\t\telements = {\n\t\t\t${text}` : `,\n\t\t\t${text}`);
      first = false;
    }
    if (!first) out.push("\n\t\t}\n");
    out.push("\t}\n");
  }

  chain(chain: NftChain): void {
    this.separate();
    this.out.push(`\tchain ${chain.name} {\n`);
    const declaration = chainDeclaration(chain);
    if (declaration !== "") this.out.push(`\t\t${declaration}\n`);
    for (const rule of chain.rules) this.out.push(`\t\t${rule}\n`);
    this.out.push("\t}\n");
  }

  text(): string {
    this.out.push("}\n");
    const text = this.out.join("");
    this.out.length = 0;
    return text;
  }
}

/** The complete `nft -f` text that replaces podnet's table of this family with `ruleset`. */
export function renderNft(ruleset: Ruleset): string {
  const writer = new TableText(ruleset.family, ruleset.table);
  for (const set of allSets(ruleset)) writer.set(set);
  for (const chain of allChains(ruleset)) writer.chain(chain);
  return writer.text();
}

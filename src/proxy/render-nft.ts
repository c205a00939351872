/**
 * A Ruleset as the text of one `nft -f` transaction that replaces podnet's table and nothing
 * else: `add table` (so the delete cannot fail on a first run), `delete table`, then the table in
 * full. nft applies a file atomically, so packets see either the old table or the new one.
 */
import type { NftChain, NftNamedSet, Ruleset } from "./nft-model.ts";
import { allChains, allSets, chainDeclaration, elementText, setDeclaration } from "./nft-model.ts";

function renderSet(set: NftNamedSet, out: string[]): void {
  out.push(`\t${set.kind} ${set.name} {\n\t\t${setDeclaration(set)}\n`);
  const count = set.kind === "set" ? set.elements.length : set.elements.size;
  if (count > 0) {
    out.push("\t\telements = {\n");
    let first = true;
    const push = (text: string) => {
      out.push(first ? `\t\t\t${text}` : `,\n\t\t\t${text}`);
      first = false;
    };
    if (set.kind === "set") for (const key of set.elements) push(key);
    else for (const [key, value] of set.elements) push(elementText(key, value));
    out.push("\n\t\t}\n");
  }
  out.push("\t}\n");
}

function renderChain(chain: NftChain, out: string[]): void {
  out.push(`\tchain ${chain.name} {\n`);
  const declaration = chainDeclaration(chain);
  if (declaration !== "") out.push(`\t\t${declaration}\n`);
  for (const rule of chain.rules) out.push(`\t\t${rule}\n`);
  out.push("\t}\n");
}

/** The table block alone: `table ip podnet { ... }`. */
export function renderTable(ruleset: Ruleset): string {
  // Pieces are collected and joined once: 100,000 chains must not cost quadratic copying.
  const out: string[] = [`table ${ruleset.family} ${ruleset.table} {\n`];
  let first = true;
  const separate = () => {
    if (!first) out.push("\n");
    first = false;
  };
  for (const set of allSets(ruleset)) {
    separate();
    renderSet(set, out);
  }
  for (const chain of allChains(ruleset)) {
    separate();
    renderChain(chain, out);
  }
  out.push("}\n");
  return out.join("");
}

/** The complete `nft -f` text that replaces podnet's table of this family with `ruleset`. */
export function renderNft(ruleset: Ruleset): string {
  const table = `${ruleset.family} ${ruleset.table}`;
  return `add table ${table}\ndelete table ${table}\n${renderTable(ruleset)}`;
}

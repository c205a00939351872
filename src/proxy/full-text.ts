/**
 * The full-sync text of a table built one Service at a time (pure): renderNft's text for the
 * same table, byte for byte, without a Ruleset holding every Service's rules at once — only the
 * element texts, which are the text anyway. proxy-state.ts renders each Service's rules when this
 * asks for them and drops them right after.
 */
import type { NftChain, NftFamily, NftSet, ServiceRules } from "./nft-model.ts";
import { elementText, TABLE_NAME } from "./nft-model.ts";
import { TableText } from "./render-nft.ts";
import type { NodePart } from "./ruleset.ts";

/** `services` in key order; their shared elements are merged as withServiceElements merges them. */
export function fullTableText(
  family: NftFamily,
  part: NodePart,
  sharedChains: Iterable<NftChain>,
  services: Iterable<readonly [string, ServiceRules]>,
): string {
  const texts = new Map<string, string[]>();
  // A set key several Services put in is written once, where it first appears.
  const seen = new Map<string, Set<string>>();
  for (const set of part.sets.values()) {
    const own = set.kind === "set" ? [...set.elements] : [...set.elements].map(([k, v]) => elementText(k, v));
    texts.set(set.name, own);
    if (set.kind === "set") seen.set(set.name, new Set(own));
  }
  const serviceSets: NftSet[] = [];
  const serviceChains: NftChain[] = [];
  for (const [key, rules] of services) {
    for (const [name, list] of rules.shared.sets) {
      const known = seen.get(name);
      const out = texts.get(name);
      if (known === undefined || out === undefined)
        throw new Error(`Service ${key} fills unknown set ${name}`);
      for (const k of list)
        if (!known.has(k)) {
          known.add(k);
          out.push(k);
        }
    }
    for (const [name, pairs] of rules.shared.maps) {
      const out = texts.get(name);
      if (out === undefined) throw new Error(`Service ${key} fills unknown map ${name}`);
      for (const [k, v] of pairs) out.push(elementText(k, v));
    }
    serviceSets.push(...rules.sets);
    serviceChains.push(...rules.chains);
  }
  seen.clear();
  const writer = new TableText(family, TABLE_NAME);
  for (const set of part.sets.values()) writer.set(set, texts.get(set.name));
  texts.clear();
  for (const set of serviceSets) writer.set(set);
  for (const chain of sharedChains) writer.chain(chain);
  for (const chain of serviceChains) writer.chain(chain);
  return writer.text();
}

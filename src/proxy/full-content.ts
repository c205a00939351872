/**
 * The full-sync content of a table built one Service at a time (pure): the same sets, elements and
 * chains as rulesetContent gives for the whole Ruleset, in the same order, without a Ruleset holding
 * every Service's rules at once — only the element texts, which the kernel gets anyway.
 * proxy-state.ts renders each Service's rules when this asks for them and drops them right after.
 */
import type { NftChain, NftFamily, ServiceRules } from "./nft-model.ts";
import { elementText } from "./nft-model.ts";
import type { NodePart } from "./ruleset.ts";
import { ownElementTexts, type TableContent, type TableSet } from "./table-content.ts";

/** `services` in key order; their shared elements are merged as withServiceElements merges them. */
export function fullTableContent(
  family: NftFamily,
  part: NodePart,
  sharedChains: Iterable<NftChain>,
  services: Iterable<readonly [string, ServiceRules]>,
): TableContent {
  const texts = new Map<string, string[]>();
  // A set key several Services put in is written once, where it first appears.
  const seen = new Map<string, Set<string>>();
  for (const set of part.sets.values()) {
    const own = ownElementTexts(set);
    texts.set(set.name, own);
    if (set.kind === "set") seen.set(set.name, new Set(own));
  }
  const serviceSets: TableSet[] = [];
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
    for (const set of rules.sets) serviceSets.push({ set, elements: ownElementTexts(set) });
    serviceChains.push(...rules.chains);
  }
  seen.clear();
  const sets: TableSet[] = [];
  for (const set of part.sets.values()) sets.push({ set, elements: texts.get(set.name) ?? [] });
  sets.push(...serviceSets);
  return { family, sets, chains: [...sharedChains, ...serviceChains] };
}

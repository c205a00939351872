/**
 * The element changes of the shared sets and maps, worked out from the Services that changed
 * only (pure): a partial sync after one endpoint change looks at that Service's elements, not at
 * the 100,000 the table holds.
 *
 * Map keys belong to one Service, so a Service's removed and added pairs are the map's changes
 * (a key that moves from one Service to another is deleted and added in the same transaction,
 * deletes first). Set keys can be shared (two Services with the same endpoint add the same hairpin
 * pair), so a key one Service drops is deleted only if no Service of the next state still has
 * it, and a key one Service adds is added only if no Service of the previous state had it.
 */
import type { Ruleset, SharedElements } from "./nft-model.ts";
import { elementText } from "./nft-model.ts";
import type { ElementChanges } from "./transaction.ts";

interface Pending {
  readonly remove: Set<string>;
  /** key → value ("" for sets) */
  readonly add: Map<string, string>;
}

/** Which of `keys` some Service of `ruleset` (or the set's own elements) puts into set `name`. */
function present(ruleset: Ruleset, name: string, keys: ReadonlySet<string>): Set<string> {
  const found = new Set<string>();
  if (keys.size === 0) return found;
  const own = ruleset.sets.get(name);
  if (own?.kind === "set") for (const key of own.elements) if (keys.has(key)) found.add(key);
  for (const group of ruleset.services.values())
    for (const key of group.shared.sets.get(name) ?? []) if (keys.has(key)) found.add(key);
  return found;
}

export class SharedChanges {
  private readonly sets = new Map<string, Pending>();
  private readonly maps = new Map<string, Pending>();

  private pending(table: Map<string, Pending>, name: string): Pending {
    let entry = table.get(name);
    if (entry === undefined) {
      entry = { remove: new Set(), add: new Map() };
      table.set(name, entry);
    }
    return entry;
  }

  /** Records what one Service's shared elements went from and to. */
  service(before: SharedElements, after: SharedElements): void {
    if (before === after) return;
    for (const name of new Set([...before.sets.keys(), ...after.sets.keys()])) {
      const was = new Set(before.sets.get(name) ?? []);
      const now = new Set(after.sets.get(name) ?? []);
      const entry = this.pending(this.sets, name);
      for (const key of was) if (!now.has(key)) entry.remove.add(key);
      for (const key of now) if (!was.has(key)) entry.add.set(key, "");
    }
    for (const name of new Set([...before.maps.keys(), ...after.maps.keys()])) {
      const was = new Map(before.maps.get(name) ?? []);
      const now = new Map(after.maps.get(name) ?? []);
      const entry = this.pending(this.maps, name);
      // A changed value is a delete and an add of the key.
      for (const [key, value] of was) if (now.get(key) !== value) entry.remove.add(key);
      for (const [key, value] of now) if (was.get(key) !== value) entry.add.set(key, value);
    }
  }

  /** The changes per set or map name, in a stable order, nothing for names without changes. */
  resolve(prev: Ruleset, next: Ruleset): Map<string, ElementChanges> {
    const out = new Map<string, ElementChanges>();
    for (const [name, { remove, add }] of this.sets) {
      // A key that one Service drops and another adds stays; so does one another Service keeps.
      const kept = present(next, name, remove);
      const had = present(prev, name, new Set(add.keys()));
      const r = [...remove].filter((k) => !kept.has(k));
      const a = [...add.keys()].filter((k) => !had.has(k));
      if (r.length + a.length > 0) out.set(name, { remove: r, add: a });
    }
    for (const [name, { remove, add }] of this.maps) {
      if (remove.size + add.size === 0) continue;
      out.set(name, { remove: [...remove], add: [...add].map(([k, v]) => elementText(k, v)) });
    }
    return out;
  }
}

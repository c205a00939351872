/**
 * The element changes of the shared sets and maps when some Services change, without looking at
 * the others (pure). A set key can come from several Services (two Services with the same
 * endpoint add the same hairpin pair), so each key is counted: it is added to the kernel's set
 * when its count leaves 0 and deleted when it comes back to 0. A map key belongs to one Service
 * (claimPorts sees to that), so a Service's removed and added pairs are the map's changes; a key
 * that moves from one Service to another is deleted and added in the same transaction.
 *
 * shared-changes.ts answers the same question for two whole rulesets (diffRulesets) by looking
 * the keys up in every Service; this one keeps the counts instead, for proxy-state.ts.
 */
import type { SharedElements } from "./nft-model.ts";
import { elementText } from "./nft-model.ts";
import type { ElementChanges } from "./transaction.ts";

interface PendingMap {
  readonly remove: Set<string>;
  readonly add: Map<string, string>;
}

export class ElementRefs {
  /** Set name → key → how many Services put it there. */
  private readonly counts = new Map<string, Map<string, number>>();
  /** Set name → key → its count before the pending changes (first touch only). */
  private readonly before = new Map<string, Map<string, number>>();
  private readonly maps = new Map<string, PendingMap>();

  private count(name: string): Map<string, number> {
    let counts = this.counts.get(name);
    if (counts === undefined) {
      counts = new Map();
      this.counts.set(name, counts);
    }
    return counts;
  }

  private move(name: string, key: string, by: 1 | -1): void {
    const counts = this.count(name);
    const was = counts.get(key) ?? 0;
    let touched = this.before.get(name);
    if (touched === undefined) {
      touched = new Map();
      this.before.set(name, touched);
    }
    if (!touched.has(key)) touched.set(key, was);
    const now = was + by;
    if (now < 0) throw new RangeError(`element ${key} of set ${name} released more often than taken`);
    if (now === 0) counts.delete(key);
    else counts.set(key, now);
  }

  /**
   * Records what one Service's shared elements went from and to; `maps`: also its map changes
   * (not needed when the table is replaced in full: only the set counts must stay right).
   */
  service(before: SharedElements, after: SharedElements, maps = true): void {
    if (before === after) return;
    for (const name of new Set([...before.sets.keys(), ...after.sets.keys()])) {
      const was = new Set(before.sets.get(name) ?? []);
      const now = new Set(after.sets.get(name) ?? []);
      for (const key of was) if (!now.has(key)) this.move(name, key, -1);
      for (const key of now) if (!was.has(key)) this.move(name, key, 1);
    }
    if (!maps) return;
    for (const name of new Set([...before.maps.keys(), ...after.maps.keys()])) {
      const was = new Map(before.maps.get(name) ?? []);
      const now = new Map(after.maps.get(name) ?? []);
      let pending = this.maps.get(name);
      if (pending === undefined) {
        pending = { remove: new Set(), add: new Map() };
        this.maps.set(name, pending);
      }
      // A changed value is a delete and an add of the key.
      for (const [key, value] of was) if (now.get(key) !== value) pending.remove.add(key);
      for (const [key, value] of now) if (was.get(key) !== value) pending.add.set(key, value);
    }
  }

  /**
   * The changes recorded since the last call, per set or map name (nothing for names without
   * changes): set keys whose count went from 0 or to 0, map keys as recorded.
   */
  take(): Map<string, ElementChanges> {
    const out = new Map<string, ElementChanges>();
    for (const [name, touched] of this.before) {
      const counts = this.count(name);
      const remove: string[] = [];
      const add: string[] = [];
      for (const [key, was] of touched) {
        const now = counts.get(key) ?? 0;
        if (was > 0 && now === 0) remove.push(key);
        else if (was === 0 && now > 0) add.push(key);
      }
      if (remove.length + add.length > 0) out.set(name, { remove, add });
    }
    for (const [name, { remove, add }] of this.maps) {
      if (remove.size + add.size === 0) continue;
      out.set(name, { remove: [...remove], add: [...add].map(([k, v]) => elementText(k, v)) });
    }
    this.before.clear();
    this.maps.clear();
    return out;
  }
}

/**
 * Partial sync (pure): the `nft -f` transaction that turns the table described by `prev` into the
 * one described by `next` by sending only what changed — map and set elements, and per-service
 * and per-endpoint chains that were added, changed (flushed and refilled) or removed — as
 * kube-proxy's nftables mode does. One endpoint change is a handful of lines instead of the whole
 * table. The caller applies it only when `prev` is what the kernel has (it applied it itself); a
 * transaction that fails is answered with `fullSync`.
 *
 * Order inside the transaction matters because the kernel refuses to delete what is still
 * referenced: new chains and sets first (so new rules and elements can point at them), then rules
 * and elements, and last the flush and delete of chains and sets nothing points at any more.
 */
import type { NftNamedSet, Ruleset, ServiceRules } from "./nft-model.ts";
import { chainDeclaration, NO_SHARED_ELEMENTS, setDeclaration } from "./nft-model.ts";
import { SharedChanges } from "./shared-changes.ts";
import { rulesetContent, type TableContent, tableText } from "./table-content.ts";
import { Transaction } from "./transaction.ts";

/**
 * What a sync sends to the kernel: nothing, a partial transaction, or the transaction that replaces
 * podnet's table of the family in full (which the caller counts, and which a refused partial one
 * falls back to).
 */
export type SyncPlan =
  | { readonly kind: "none" }
  | { readonly kind: "partial"; readonly text: string }
  | { readonly kind: "full"; readonly content: TableContent };

/** A plan as one `nft -f` text: a full one replaces table `podnet` in one transaction ("" for none). */
export function planText(plan: SyncPlan): string {
  if (plan.kind === "none") return "";
  return plan.kind === "partial" ? plan.text : tableText(plan.content);
}

/** The transaction that replaces podnet's table of this family with `next` in full. */
export function fullSync(next: Ruleset): Extract<SyncPlan, { kind: "full" }> {
  return { kind: "full", content: rulesetContent(next) };
}

function sameDeclaration(a: NftNamedSet, b: NftNamedSet): boolean {
  return a === b || (a.kind === b.kind && setDeclaration(a) === setDeclaration(b));
}

/**
 * True when the two rulesets differ in something a partial sync does not change in place: the
 * family or table, a base chain's hook, or a set's declaration (type, flags, timeout). Per-service
 * sets never change declaration under one name (nft-names.ts puts the timeout into the name).
 */
export function needsFullSync(prev: Ruleset, next: Ruleset): boolean {
  if (prev.family !== next.family || prev.table !== next.table) return true;
  for (const [name, chain] of next.chains) {
    const old = prev.chains.get(name);
    if (chain.hook && (old === undefined || chainDeclaration(old) !== chainDeclaration(chain))) return true;
    if (!chain.hook && old?.hook) return true;
  }
  for (const [name, chain] of prev.chains) if (chain.hook && !next.chains.has(name)) return true;
  for (const [name, set] of next.sets) {
    const old = prev.sets.get(name);
    if (old !== undefined && !sameDeclaration(old, set)) return true;
  }
  for (const [key, group] of next.services) {
    const old = prev.services.get(key);
    if (old === undefined || old === group) continue;
    const before = new Map(old.sets.map((s) => [s.name, s]));
    for (const set of group.sets) {
      const was = before.get(set.name);
      if (was !== undefined && !sameDeclaration(was, set)) return true;
    }
  }
  return false;
}

export function diffService(tx: Transaction, old: ServiceRules | undefined, group: ServiceRules): void {
  const oldChains = new Map(old?.chains.map((c) => [c.name, c]));
  const oldSets = new Map(old?.sets.map((s) => [s.name, s]));
  for (const set of group.sets) tx.set(oldSets.get(set.name), set);
  for (const chain of group.chains) tx.chain(oldChains.get(chain.name), chain);
  const chainNames = new Set(group.chains.map((c) => c.name));
  const setNames = new Set(group.sets.map((s) => s.name));
  for (const chain of old?.chains ?? []) if (!chainNames.has(chain.name)) tx.removeChain(chain.name);
  for (const set of old?.sets ?? []) if (!setNames.has(set.name)) tx.removeSet(set);
}

/**
 * The sync from `prev` to `next`: none when nothing changed, partial when every change can be made
 * in place, otherwise full (see needsFullSync).
 */
export function diffRulesets(prev: Ruleset, next: Ruleset): SyncPlan {
  if (needsFullSync(prev, next)) return fullSync(next);
  const tx = new Transaction(`${next.family} ${next.table}`);
  const shared = new SharedChanges();
  for (const [name, set] of next.sets) tx.set(prev.sets.get(name), set);
  for (const [name, set] of prev.sets) if (!next.sets.has(name)) tx.removeSet(set);
  for (const [name, chain] of next.chains) tx.chain(prev.chains.get(name), chain);
  for (const name of prev.chains.keys()) if (!next.chains.has(name)) tx.removeChain(name);
  // Services whose entry is the very same object (renderRuleset reused it) are skipped whole.
  for (const [key, group] of next.services) {
    const old = prev.services.get(key);
    if (old !== group) {
      diffService(tx, old, group);
      shared.service(old?.shared ?? NO_SHARED_ELEMENTS, group.shared);
    }
  }
  for (const [key, old] of prev.services)
    if (!next.services.has(key)) shared.service(old.shared, NO_SHARED_ELEMENTS);
  for (const [key, old] of prev.services)
    if (!next.services.has(key)) diffService(tx, old, { chains: [], sets: [], shared: NO_SHARED_ELEMENTS });
  for (const [name, { remove, add }] of shared.resolve(prev, next)) tx.elements(name, remove, add);
  const text = tx.text();
  return text === "" ? { kind: "none" } : { kind: "partial", text };
}

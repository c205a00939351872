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
import type { NftChain, NftMap, NftNamedSet, NftSet, Ruleset, ServiceRules } from "./nft-model.ts";
import { chainDeclaration, elementText, NO_SHARED_ELEMENTS, setDeclaration } from "./nft-model.ts";
import { renderNft } from "./render-nft.ts";
import { SharedChanges } from "./shared-changes.ts";

/**
 * What a sync sends to the kernel: nothing, a partial transaction, or the transaction that replaces
 * podnet's table of the family in full (which the caller counts, and which a refused partial one
 * falls back to).
 */
export type SyncPlan =
  | { readonly kind: "none" }
  | { readonly kind: "partial"; readonly text: string }
  | { readonly kind: "full"; readonly text: string };

/** The transaction that replaces podnet's table of this family with `next` in full. */
export function fullSync(next: Ruleset): Extract<SyncPlan, { kind: "full" }> {
  return { kind: "full", text: renderNft(next) };
}

function sameRules(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameDeclaration(a: NftNamedSet, b: NftNamedSet): boolean {
  return a === b || (a.kind === b.kind && setDeclaration(a) === setDeclaration(b));
}

/**
 * True when the two rulesets differ in something a partial sync does not change in place: the
 * family or table, a base chain's hook, or a set's declaration (type, flags, timeout). Per-service
 * sets never change declaration under one name (nft-names.ts puts the timeout into the name).
 */
function needsFullSync(prev: Ruleset, next: Ruleset): boolean {
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

interface ElementChanges {
  readonly remove: string[];
  readonly add: string[];
}

function setChanges(prev: NftSet | undefined, next: NftSet): ElementChanges {
  const before = new Set(prev?.elements ?? []);
  const after = new Set(next.elements);
  return {
    remove: [...before].filter((k) => !after.has(k)),
    add: next.elements.filter((k) => !before.has(k)),
  };
}

function mapChanges(prev: NftMap | undefined, next: NftMap): ElementChanges {
  const remove: string[] = [];
  const add: string[] = [];
  if (prev)
    for (const [key, value] of prev.elements) {
      // A changed verdict is a delete and an add of the key in the same transaction.
      if (next.elements.get(key) !== value) remove.push(key);
    }
  for (const [key, value] of next.elements) {
    if (prev?.elements.get(key) !== value) add.push(elementText(key, value));
  }
  return { remove, add };
}

function elementChanges(prev: NftNamedSet | undefined, next: NftNamedSet): ElementChanges {
  if (next.kind === "set") return setChanges(prev?.kind === "set" ? prev : undefined, next);
  return mapChanges(prev?.kind === "map" ? prev : undefined, next);
}

/** Collects the commands of one transaction in the order the kernel needs them. */
class Transaction {
  /** New chains and sets, so rules and elements added later can refer to them. */
  private readonly head: string[] = [];
  /** Rules and elements. */
  private readonly body: string[] = [];
  private readonly removedChains: string[] = [];
  private readonly removedSets: NftNamedSet[] = [];

  constructor(private readonly table: string) {}

  chain(old: NftChain | undefined, chain: NftChain): void {
    if (old === chain) return;
    if (old === undefined) this.head.push(`add chain ${this.table} ${chain.name}`);
    else if (sameRules(old.rules, chain.rules)) return;
    else this.body.push(`flush chain ${this.table} ${chain.name}`);
    for (const rule of chain.rules) this.body.push(`add rule ${this.table} ${chain.name} ${rule}`);
  }

  set(old: NftNamedSet | undefined, set: NftNamedSet): void {
    if (old === set) return;
    if (old === undefined)
      this.head.push(`add ${set.kind} ${this.table} ${set.name} { ${setDeclaration(set)} }`);
    const { remove, add } = elementChanges(old, set);
    if (
      old !== undefined &&
      set.kind === "set" &&
      set.flags.includes("interval") &&
      remove.length + add.length > 0
    ) {
      // nft checks a new interval against the set's elements as they were before the transaction,
      // ignoring deletes in it ("interval overlaps with an existing one" when 10.0.0.0/8 gives way
      // to 10.96.0.0/12). These CIDR lists are short: flush and refill them instead.
      this.body.push(`flush set ${this.table} ${set.name}`);
      if (set.elements.length > 0)
        this.body.push(`add element ${this.table} ${set.name} { ${set.elements.join(", ")} }`);
      return;
    }
    if (remove.length > 0)
      this.body.push(`delete element ${this.table} ${set.name} { ${remove.join(", ")} }`);
    if (add.length > 0) this.body.push(`add element ${this.table} ${set.name} { ${add.join(", ")} }`);
  }

  /** Element changes worked out elsewhere (the Services' shared elements): deletes first. */
  elements(name: string, remove: readonly string[], add: readonly string[]): void {
    if (remove.length > 0) this.body.push(`delete element ${this.table} ${name} { ${remove.join(", ")} }`);
    if (add.length > 0) this.body.push(`add element ${this.table} ${name} { ${add.join(", ")} }`);
  }

  removeChain(name: string): void {
    this.removedChains.push(name);
  }

  removeSet(set: NftNamedSet): void {
    this.removedSets.push(set);
  }

  text(): string {
    const t = this.table;
    // Removed chains are all flushed before any is deleted: a removed service chain still jumps
    // to its removed endpoint chains until it is emptied.
    const lines = [
      ...this.head,
      ...this.body,
      ...this.removedChains.map((name) => `flush chain ${t} ${name}`),
      ...this.removedChains.map((name) => `delete chain ${t} ${name}`),
      ...this.removedSets.map((set) => `delete ${set.kind} ${t} ${set.name}`),
    ];
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
  }
}

function diffService(tx: Transaction, old: ServiceRules | undefined, group: ServiceRules): void {
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

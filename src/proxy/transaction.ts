/**
 * One partial-sync transaction being put together (pure): the commands are collected in the order
 * the kernel needs them, because it refuses to delete what is still referenced — new chains and
 * sets first (so new rules and elements can point at them), then rules and elements, and last the
 * flush and delete of chains and sets nothing points at any more. diff.ts fills one from two whole
 * rulesets, proxy-state.ts from the Services that changed.
 */
import type { NftChain, NftMap, NftNamedSet, NftSet } from "./nft-model.ts";
import { elementText, setDeclaration } from "./nft-model.ts";

export function sameRules(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What one set or map loses and gains in a transaction. */
export interface ElementChanges {
  readonly remove: readonly string[];
  /** Element texts (`key` or `key : value`). */
  readonly add: readonly string[];
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
export class Transaction {
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

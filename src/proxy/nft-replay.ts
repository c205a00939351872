/**
 * A model of how the kernel applies podnet's partial-sync transactions, for tests (pure): it
 * replays the commands diffRulesets writes against the state of a Ruleset and enforces what
 * nf_tables enforces within a transaction — objects exist before they are used, a chain or set is
 * not deleted while a rule or map element still refers to it, a chain is flushed before it is
 * deleted, an element is not added twice nor deleted when absent, and — as nft checks it — a new
 * interval must not overlap the set's elements as they were before the transaction, deletes in it
 * notwithstanding (only `flush set` clears them). The integration test checks the
 * same transactions against a real kernel; this model lets property tests run thousands of them.
 */
import { type IPPrefix, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";
import type { Ruleset } from "./nft-model.ts";
import { allChains, allSets, elementText, setDeclaration } from "./nft-model.ts";

export class ReplayError extends Error {
  override readonly name = "ReplayError";
  constructor(
    readonly line: string,
    readonly reason: string,
  ) {
    super(`Cannot apply "${line}": ${reason}`);
  }
}

export interface ReplaySet {
  readonly kind: "set" | "map";
  readonly declaration: string;
  /** key → value (maps) or "" (sets). */
  readonly elements: Map<string, string>;
}

export interface ReplayState {
  readonly chains: Map<string, string[]>;
  readonly sets: Map<string, ReplaySet>;
}

/** The table state a Ruleset describes. */
export function stateOf(ruleset: Ruleset): ReplayState {
  const chains = new Map<string, string[]>();
  for (const chain of allChains(ruleset)) chains.set(chain.name, [...chain.rules]);
  const sets = new Map<string, ReplaySet>();
  for (const set of allSets(ruleset)) {
    const elements = new Map<string, string>();
    if (set.kind === "set") for (const key of set.elements) elements.set(key, "");
    else for (const [key, value] of set.elements) elements.set(key, value);
    sets.set(set.name, { kind: set.kind, declaration: setDeclaration(set), elements });
  }
  return { chains, sets };
}

const chainRefs = (text: string): string[] =>
  [...text.matchAll(/\b(?:goto|jump) (\S+)/g)].map((m) => m[1] as string);
const setRefs = (text: string): string[] => [...text.matchAll(/@([^\s,}]+)/g)].map((m) => m[1] as string);

function elementsOf(line: string, body: string): string[] {
  const m = /^\{ (.*) \}$/.exec(body);
  if (!m) throw new ReplayError(line, "element list is not in braces");
  return (m[1] as string).split(", ");
}

function splitElement(text: string, kind: "set" | "map"): [string, string] {
  if (kind === "set") return [text, ""];
  const at = text.indexOf(" : ");
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 3)];
}

/** Applies one partial-sync transaction for `table` ("ip podnet") to a copy of `state`. */
export function replay(state: ReplayState, transaction: string, table: string): ReplayState {
  const chains = new Map([...state.chains].map(([k, v]) => [k, [...v]]));
  const sets = new Map([...state.sets].map(([k, v]) => [k, { ...v, elements: new Map(v.elements) }]));
  const referenced = (name: string, refs: (text: string) => string[]): boolean => {
    for (const rules of chains.values()) for (const rule of rules) if (refs(rule).includes(name)) return true;
    for (const set of sets.values())
      for (const value of set.elements.values()) if (refs(value).includes(name)) return true;
    return false;
  };
  const needChain = (line: string, name: string): string[] => {
    const rules = chains.get(name);
    if (!rules) throw new ReplayError(line, `chain ${name} does not exist`);
    return rules;
  };
  const needSet = (line: string, name: string): ReplaySet => {
    const set = sets.get(name);
    if (!set) throw new ReplayError(line, `set ${name} does not exist`);
    return set;
  };
  const checkRefs = (line: string, text: string) => {
    for (const c of chainRefs(text)) needChain(line, c);
    for (const s of setRefs(text)) needSet(line, s);
  };
  // What nft's overlap check sees of each interval set: its elements before the transaction.
  const before = new Map([...sets].map(([name, set]) => [name, [...set.elements.keys()]]));
  const asPrefix = (text: string): IPPrefix =>
    parsePrefix(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
  const overlapping = (name: string, set: ReplaySet, key: string): string | undefined => {
    if (!set.declaration.includes("interval")) return undefined;
    const added = asPrefix(key);
    const others = [...(before.get(name) ?? []), ...set.elements.keys()];
    return others.find((other) => prefixesOverlap(asPrefix(other), added));
  };

  for (const line of transaction.split("\n").filter((l) => l !== "")) {
    const prefix = /^(add|flush|delete) (chain|rule|set|map|element) (\S+ \S+) (\S+) ?(.*)$/.exec(line);
    if (!prefix || prefix[3] !== table) throw new ReplayError(line, `not a command on table ${table}`);
    const [, verb, object, , name, rest] = prefix as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const command = `${verb} ${object}`;
    if (command === "add chain") {
      if (!chains.has(name)) chains.set(name, []);
    } else if (command === "flush chain") {
      needChain(line, name).length = 0;
    } else if (command === "delete chain") {
      if (needChain(line, name).length > 0) throw new ReplayError(line, "chain still has rules");
      if (referenced(name, chainRefs)) throw new ReplayError(line, "chain is still referenced");
      chains.delete(name);
    } else if (command === "add rule") {
      checkRefs(line, rest);
      needChain(line, name).push(rest);
    } else if (command === "add set" || command === "add map") {
      const declaration = /^\{ (.*) \}$/.exec(rest)?.[1] ?? "";
      if (!sets.has(name))
        sets.set(name, { kind: object as "set" | "map", declaration, elements: new Map() });
    } else if (command === "flush set" || command === "flush map") {
      needSet(line, name).elements.clear();
      before.delete(name);
    } else if (command === "delete set" || command === "delete map") {
      needSet(line, name);
      if (referenced(name, setRefs)) throw new ReplayError(line, "set is still referenced");
      sets.delete(name);
      before.delete(name);
    } else if (command === "add element") {
      const set = needSet(line, name);
      for (const text of elementsOf(line, rest)) {
        const [key, value] = splitElement(text, set.kind);
        if (set.elements.has(key)) throw new ReplayError(line, `element ${key} already exists`);
        const clash = overlapping(name, set, key);
        if (clash !== undefined) throw new ReplayError(line, `interval ${key} overlaps ${clash}`);
        checkRefs(line, value);
        set.elements.set(key, value);
      }
    } else if (command === "delete element") {
      const set = needSet(line, name);
      for (const key of elementsOf(line, rest)) {
        if (!set.elements.delete(key)) throw new ReplayError(line, `element ${key} does not exist`);
      }
    } else {
      throw new ReplayError(line, "unknown command");
    }
  }
  return { chains, sets };
}

/** A comparable view: chains with their rules, sets with sorted elements (element order is not state). */
export function comparable(state: ReplayState): unknown {
  return {
    chains: [...state.chains].sort(([a], [b]) => (a < b ? -1 : 1)),
    sets: [...state.sets]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, s]) => [
        name,
        s.kind,
        s.declaration,
        [...s.elements].map(([k, v]) => elementText(k, v || undefined)).sort(),
      ]),
  };
}

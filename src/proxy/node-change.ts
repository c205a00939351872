/**
 * What a change of the node's side of a table (its addresses, CIDRs, egress policy, name) does to
 * the table (pure, for proxy-state.ts): nothing, changes made in place into the transaction, or a
 * full sync; and whether every Service must be rendered again (the name says which endpoints are
 * local).
 */
import { needsFullSync } from "./diff.ts";
import type { NftFamily, Ruleset } from "./nft-model.ts";
import { TABLE_NAME } from "./nft-model.ts";
import { type NodeInput, type NodePart, renderNodePart } from "./ruleset.ts";
import type { Transaction } from "./transaction.ts";

export interface NodeState {
  readonly input: NodeInput;
  /** The input as text, to tell a change cheaply. */
  readonly text: string;
  readonly part: NodePart;
}

/** A Ruleset of the node part alone, for needsFullSync. */
const nodeRuleset = (family: NftFamily, part: NodePart): Ruleset => ({
  family,
  table: TABLE_NAME,
  sets: part.sets,
  chains: part.chains,
  services: new Map(),
  problems: [],
});

/**
 * The node state for `input` (the very `old` one when nothing changed); its changes go into `tx`.
 * `full`: they cannot be made in place; `renamed`: every Service must be rendered again.
 */
export function nodeChange(
  old: NodeState | undefined,
  input: NodeInput,
  tx: Transaction,
): { node: NodeState; full: boolean; renamed: boolean } {
  const text = JSON.stringify([
    input.nodeIPs,
    input.podCidrs,
    input.nonMasqueradeCidrs,
    input.masqueradeEgress,
    input.nodeName ?? null,
  ]);
  if (old !== undefined && old.text === text) return { node: old, full: false, renamed: false };
  const node = { input, text, part: renderNodePart(input) };
  if (old === undefined) return { node, full: true, renamed: false };
  const renamed = old.input.nodeName !== input.nodeName;
  // Updates never remove a node-part chain or set (none comes and goes today): if one did, the
  // table is replaced.
  const gone = (a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>) =>
    [...a.keys()].some((name) => !b.has(name));
  if (gone(old.part.chains, node.part.chains) || gone(old.part.sets, node.part.sets))
    return { node, full: true, renamed };
  if (needsFullSync(nodeRuleset(input.family, old.part), nodeRuleset(input.family, node.part)))
    return { node, full: true, renamed };
  for (const [name, set] of node.part.sets) tx.set(old.part.sets.get(name), set);
  for (const [name, chain] of node.part.chains) tx.chain(old.part.chains.get(name), chain);
  return { node, full: false, renamed };
}

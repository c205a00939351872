/**
 * The service proxy's desired nftables state as plain data: one table, its sets and maps with
 * their elements, and its chains with their rules (each rule one line of `nft` syntax). Rendering
 * to text (render-nft.ts) and diffing two states (diff.ts) both work on this, so what is applied
 * in full and what is applied in part always come from the same description. It imports nothing:
 * the renderer, the diff, the text and the replay model all build on it.
 */

export type NftFamily = "ip" | "ip6";

/** podnet owns this table and nothing else: full syncs delete and recreate only it. */
export const TABLE_NAME = "podnet";

export type HookName = "prerouting" | "input" | "forward" | "output" | "postrouting";

/** What makes a chain a base chain: the netfilter hook it is attached to. */
export interface ChainHook {
  readonly type: "filter" | "nat";
  readonly hook: HookName;
  /**
   * A number, not a name: nft only accepts names such as `dstnat` for some hook/type pairs
   * (`dstnat + 10` is refused on a filter chain in the output hook).
   */
  readonly priority: number;
}

export interface NftChain {
  readonly name: string;
  /** Present only on base chains. */
  readonly hook?: ChainHook;
  /** Rules in order, each one line of nft rule syntax (without `add rule ...`). */
  readonly rules: readonly string[];
}

/** A named set: elements are keys only. */
export interface NftSet {
  readonly kind: "set";
  readonly name: string;
  /** nft type expression, e.g. `ipv4_addr` or `inet_proto . inet_service`. */
  readonly type: string;
  readonly flags: readonly ("interval" | "dynamic" | "timeout")[];
  /** Default timeout of elements added from the packet path (affinity sets). */
  readonly timeoutSeconds?: number;
  readonly elements: readonly string[];
}

/** A named map: key → verdict (`goto chain`) or data (an endpoint address . port). */
export interface NftMap {
  readonly kind: "map";
  readonly name: string;
  /** The key: an nft type (`ipv4_addr . inet_service`) or, with `typeOf`, an expression. */
  readonly type: string;
  /** What elements map to: `verdict`, a type, or (with `typeOf`) an expression. */
  readonly data: string;
  /**
   * Declared with `typeof` (key and data are expressions): the only way to put a `numgen`
   * result into a concatenated key, as there is no sized type name for it.
   */
  readonly typeOf?: boolean;
  readonly elements: ReadonlyMap<string, string>;
}

export type NftNamedSet = NftSet | NftMap;

/** Something in the input that could not be rendered; the rest of the ruleset still is. */
export interface RenderProblem {
  readonly kind:
    | "invalid-cluster-ip"
    | "invalid-endpoint-ip"
    | "invalid-port"
    | "invalid-affinity-timeout"
    | "invalid-cidr"
    | "invalid-node-ip"
    | "duplicate-service"
    | "duplicate-service-port"
    | "duplicate-node-port";
  /** What it is about: "namespace/name", a CIDR, an address. */
  readonly subject: string;
  readonly message: string;
}

/**
 * What one Service puts into the shared sets and maps. They are kept per Service rather than
 * merged into the shared objects, so that re-rendering and diffing after one endpoint change
 * costs that Service's elements, not all 100,000 of them.
 */
export interface SharedElements {
  /** Set name → keys. Several Services may add the same key (a set holds it once). */
  readonly sets: ReadonlyMap<string, readonly string[]>;
  /** Map name → [key, value] pairs. A key belongs to one Service (claimPorts sees to that). */
  readonly maps: ReadonlyMap<string, readonly (readonly [string, string])[]>;
}

export const NO_SHARED_ELEMENTS: SharedElements = { sets: new Map(), maps: new Map() };

/** The chains and sets of one Service (all its ports), kept together so a diff skips unchanged Services whole. */
export interface ServiceRules {
  readonly chains: readonly NftChain[];
  /** Its affinity sets. */
  readonly sets: readonly NftSet[];
  readonly shared: SharedElements;
}

/**
 * `S` is what is kept per Service: the renderer keeps more than the rules (render-services.ts's
 * ServiceMemo, so the next render can reuse them); everything else needs only the rules.
 */
export interface Ruleset<S extends ServiceRules = ServiceRules> {
  readonly family: NftFamily;
  readonly table: string;
  /**
   * The shared sets and maps, in render order, with the elements that belong to no Service; the
   * Services' own elements are in `services` (withServiceElements merges them).
   */
  readonly sets: ReadonlyMap<string, NftNamedSet>;
  /** The base chains and shared helper chains, in render order. */
  readonly chains: ReadonlyMap<string, NftChain>;
  /**
   * Per-service chains and sets by "namespace/name", in render order. The renderer's entries also
   * record how they were rendered, so the next render reuses the entry of an unchanged Service
   * (the very same object, which the diff then skips by identity).
   */
  readonly services: ReadonlyMap<string, S>;
  /** Input that was skipped; callers log and count these, the ruleset is otherwise complete. */
  readonly problems: readonly RenderProblem[];
}

/** Every chain of the ruleset: shared ones first, then each Service's. */
export function* allChains(ruleset: Ruleset): Generator<NftChain> {
  yield* ruleset.chains.values();
  for (const group of ruleset.services.values()) yield* group.chains;
}

/** A shared set or map with every Service's elements merged in (what the kernel holds). */
export function withServiceElements(ruleset: Ruleset, set: NftNamedSet): NftNamedSet {
  if (set.kind === "set") {
    const keys = new Set(set.elements);
    for (const group of ruleset.services.values())
      for (const key of group.shared.sets.get(set.name) ?? []) keys.add(key);
    return keys.size === set.elements.length ? set : { ...set, elements: [...keys] };
  }
  const elements = new Map(set.elements);
  for (const group of ruleset.services.values())
    for (const [key, value] of group.shared.maps.get(set.name) ?? []) elements.set(key, value);
  return elements.size === set.elements.size ? set : { ...set, elements };
}

/** Every set and map of the ruleset, complete: shared ones first, then the Services' affinity sets. */
export function* allSets(ruleset: Ruleset): Generator<NftNamedSet> {
  for (const set of ruleset.sets.values()) yield withServiceElements(ruleset, set);
  for (const group of ruleset.services.values()) yield* group.sets;
}

/** The set declaration without its elements, e.g. `type ipv4_addr; flags interval;`. */
export function setDeclaration(set: NftNamedSet): string {
  if (set.kind === "map") return `${set.typeOf ? "typeof" : "type"} ${set.type} : ${set.data};`;
  const parts = [`type ${set.type};`];
  if (set.flags.length > 0) parts.push(`flags ${set.flags.join(",")};`);
  if (set.timeoutSeconds !== undefined) parts.push(`timeout ${set.timeoutSeconds}s;`);
  return parts.join(" ");
}

/**
 * Commands that delete table `name` of `family` whether or not it is there: `add table` first, so
 * the delete cannot fail on a table that is missing.
 */
export function dropTableText(family: string, name: string): string {
  return `add table ${family} ${name}\ndelete table ${family} ${name}\n`;
}

/** `type nat hook prerouting priority -100; policy accept;` for base chains, "" otherwise. */
export function chainDeclaration(chain: NftChain): string {
  const h = chain.hook;
  return h ? `type ${h.type} hook ${h.hook} priority ${h.priority}; policy accept;` : "";
}

/** The text of one element: `key` for sets, `key : verdict` for maps. */
export function elementText(key: string, value: string | undefined): string {
  return value === undefined ? key : `${key} : ${value}`;
}

/**
 * The proxy's table of one family, kept per Service so that a change costs what changed (pure).
 * renderRuleset + diffRulesets re-walk all Services on every sync (memoised, but still 10,000
 * fingerprints, claims and identity checks for one endpoint); kube-proxy's nftables mode skips
 * unchanged Services the same way (KEP-3866). Here an update takes only the changed Services:
 * each is resolved, claims its ports (port-claims.ts tells which other Services that touches),
 * is rendered by the same functions as the full renderer, and its old and new rules and elements
 * make the transaction. Shared set elements are reference-counted (element-refs.ts), the shared
 * DNAT chains counted per protocol and endpoint count.
 *
 * The full renderer stays the definition: after any sequence of updates, snapshot() and
 * fullSync() give the very table renderRuleset gives for the same input (proxy-state.test.ts
 * checks this over long random sequences).
 */

import { AddressCanonicalizer, ipFamilyOf } from "./addresses.ts";
import { ChainCounts } from "./chain-counts.ts";
import { diffService, type SyncPlan } from "./diff.ts";
import { dnatChains } from "./dnat-chains.ts";
import { ElementRefs } from "./element-refs.ts";
import type { ServiceEntry } from "./endpoint-index.ts";
import { fullTableContent } from "./full-content.ts";
import type { NftChain, NftFamily, RenderProblem, Ruleset, ServiceRules } from "./nft-model.ts";
import { setDeclaration, TABLE_NAME } from "./nft-model.ts";
import { type NodeState, nodeChange } from "./node-change.ts";
import { PortClaims } from "./port-claims.ts";
import type { NodeInput, NodePart } from "./ruleset.ts";
import { type Memo, serviceMemo } from "./service-memo.ts";
import { resolveService } from "./service-plan.ts";
import { renderServiceRules, type ServiceRender } from "./service-render.ts";
import type { FamilyService } from "./service-rules.ts";
import { Transaction } from "./transaction.ts";

/** Services to bring up to date, with their entry (undefined: gone). */
type Pending = Map<string, { readonly entry: ServiceEntry | undefined }>;

export class ProxyState {
  private readonly memos = new Map<string, Memo>();
  private readonly claims = new PortClaims();
  private readonly refs = new ElementRefs();
  private readonly endpointChains = new ChainCounts();
  private readonly nodePortChains = new ChainCounts();
  /** Keys of the Services with problems, so problems are listed without walking every Service. */
  private readonly problemKeys = new Set<string>();
  private problemList: readonly RenderProblem[] | undefined;
  private node: NodeState | undefined;
  /** Whether the kernel may not hold the previous state: the next update is a full sync. */
  private unknown = true;
  /** The kernel's table partial syncs change: a full sync builds under the free name (table-swap.ts). */
  private tableName: string = TABLE_NAME;

  constructor(readonly family: NftFamily) {}

  /** The name of the table the kernel holds this state in. */
  get table(): string {
    return this.tableName;
  }

  /** A full sync of this state was applied as table `name`: partial syncs change that one now. */
  useTable(name: string): void {
    this.tableName = name;
  }

  /** The next update replaces the table in full (the kernel's table is not what this state says). */
  markUnknown(): void {
    this.unknown = true;
  }

  /**
   * Brings the state to `node` and the given Service changes (key "namespace/name" → entry, or
   * undefined when the Service is gone). Returns the sync that takes a kernel holding the previous
   * state to the new one: full on the first update and after markUnknown(), else partial or none.
   */
  update(node: NodeInput, changes: Iterable<readonly [string, ServiceEntry | undefined]>): SyncPlan {
    if (node.family !== this.family)
      throw new RangeError(`the ${this.family} table cannot be rendered from ${node.family} input`);
    const tx = new Transaction(`${this.family} ${this.tableName}`);
    const nodeChange = this.updateNode(node, tx);
    let full = nodeChange.full;
    const pending: Pending = new Map();
    if (nodeChange.renamed) {
      // Which endpoints are local follows the node's name: every Service is rendered again.
      for (const [key, memo] of this.memos) pending.set(key, { entry: memo.entry });
    }
    for (const [key, entry] of changes) {
      const memo = this.memos.get(key);
      if (entry === memo?.entry && !pending.has(key)) continue;
      pending.set(key, { entry });
    }
    // When the table is replaced in full anyway, no partial transaction is written.
    if (this.applyServices(pending, this.unknown || full ? undefined : tx)) full = true;
    if (this.unknown || full) {
      this.unknown = false;
      return this.fullSync();
    }
    const text = tx.text();
    return text === "" ? { kind: "none" } : { kind: "partial", text };
  }

  /** update() with every Service: the ones not listed are gone. */
  updateAll(node: NodeInput, entries: Iterable<readonly [string, ServiceEntry]>): SyncPlan {
    const changes = new Map<string, ServiceEntry | undefined>(entries);
    for (const key of this.memos.keys()) if (!changes.has(key)) changes.set(key, undefined);
    return this.update(node, changes);
  }

  /**
   * What replaces the table in full with this state: renderNft's content for the same table,
   * gathered one Service at a time (O(n log n) for the key order).
   */
  fullSync(): Extract<SyncPlan, { kind: "full" }> {
    const keys = [...this.memos.keys()].sort();
    const rules = (key: string) => this.rulesOf(this.memos.get(key));
    // A generator, so each Service's rules exist only while its elements are gathered.
    const services = (function* () {
      for (const key of keys) yield [key, rules(key)] as const;
    })();
    const part = this.nodePart();
    return { kind: "full", content: fullTableContent(this.family, part, this.sharedChains(part), services) };
  }

  /** The whole state as a Ruleset, Services in key order (for tests: it builds every Service's rules). */
  snapshot(): Ruleset {
    const part = this.nodePart();
    const services = new Map<string, ServiceRules>();
    for (const key of [...this.memos.keys()].sort()) services.set(key, this.rulesOf(this.memos.get(key)));
    const chains = new Map<string, NftChain>();
    for (const chain of this.sharedChains(part)) chains.set(chain.name, chain);
    return {
      family: this.family,
      table: TABLE_NAME,
      sets: part.sets,
      chains,
      services,
      problems: this.problems,
    };
  }

  /** The base chains, then the shared DNAT chains in use. */
  private *sharedChains(part: NodePart): Generator<NftChain> {
    yield* part.chains.values();
    yield* dnatChains(this.family, this.endpointChains.keys(), this.nodePortChains.keys());
  }

  private rulesOf(memo: Memo | undefined): ServiceRender {
    return renderServiceRules(this.family, memo?.resolved, memo?.ports ?? []);
  }

  /**
   * The input that could not be rendered: the node's, then each Service's in key order. The same
   * array until a problem comes or goes, so a caller can tell "unchanged" by identity.
   */
  get problems(): readonly RenderProblem[] {
    if (this.problemList === undefined) {
      const out = [...this.nodePart().problems];
      for (const key of [...this.problemKeys].sort()) {
        const memo = this.memos.get(key);
        if (memo) out.push(...memo.resolveProblems, ...memo.claimProblems);
      }
      this.problemList = out;
    }
    return this.problemList;
  }

  private nodePart(): NodePart {
    if (this.node === undefined) throw new Error(`the ${this.family} table has no node input yet`);
    return this.node.part;
  }

  /** Takes the node input (node-change.ts); a change of it may change the problems. */
  private updateNode(input: NodeInput, tx: Transaction): { full: boolean; renamed: boolean } {
    const change = nodeChange(this.node, input, tx);
    if (change.node === this.node) return change;
    this.node = change.node;
    this.problemList = undefined;
    return change;
  }

  /** Brings the pending Services up to date; true when the change needs a full sync. */
  private applyServices(pending: Pending, tx: Transaction | undefined): boolean {
    if (pending.size === 0) return false;
    const addresses = new AddressCanonicalizer(ipFamilyOf(this.family));
    const nodeName = this.node?.input.nodeName;
    const fresh = new Map<string, { resolved: FamilyService | undefined; problems: RenderProblem[] }>();
    // 1. Resolve the changed Services and record the ports they ask for.
    const contested = new Set<string>();
    for (const [key, { entry }] of pending) {
      const problems: RenderProblem[] = [];
      const resolved =
        entry === undefined
          ? undefined
          : resolveService(addresses, entry.service, entry.endpoints, problems, nodeName);
      fresh.set(key, { resolved, problems });
      this.claims.askPorts(
        key,
        resolved && entry ? { resolved, ports: entry.service.ports } : undefined,
        contested,
      );
    }
    const source = (key: string) => {
      const f = fresh.get(key);
      if (f) return { entry: pending.get(key)?.entry, resolved: f.resolved, problems: f.problems };
      const memo = this.memos.get(key);
      return { entry: memo?.entry, resolved: memo?.resolved, problems: memo?.resolveProblems ?? [] };
    };
    // 2. The NodePorts of the ports they (and the Services contesting those ports) now win.
    const affected = new Set<string>(contested);
    for (const key of contested) {
      const { entry, resolved } = source(key);
      this.claims.askNodePorts(
        key,
        resolved && entry ? { resolved, ports: entry.service.ports } : undefined,
        affected,
      );
    }
    // 3. Claim and render every Service whose claims may have changed.
    let full = false;
    for (const key of affected) {
      const { entry, resolved, problems } = source(key);
      const old = this.memos.get(key);
      const next =
        entry === undefined
          ? undefined
          : serviceMemo(
              entry,
              resolved,
              problems,
              old,
              fresh.has(key),
              this.claims.ownersFor(key, { ports: false, nodePorts: false }),
            );
      if (next === old) continue;
      if (this.record(key, old, next, tx)) full = true;
    }
    this.finishChains(tx);
    for (const [name, { remove, add }] of this.refs.take()) tx?.elements(name, remove, add);
    return full;
  }

  /** Puts `next` in place of `old` and writes the difference; true when it needs a full sync. */
  private record(
    key: string,
    old: Memo | undefined,
    next: Memo | undefined,
    tx: Transaction | undefined,
  ): boolean {
    const before = this.rulesOf(old);
    const after = this.rulesOf(next);
    let full = false;
    const oldSets = new Map(before.sets.map((s) => [s.name, s]));
    for (const set of after.sets) {
      const was = oldSets.get(set.name);
      if (was !== undefined && setDeclaration(was) !== setDeclaration(set)) full = true;
    }
    if (tx) diffService(tx, old === undefined ? undefined : before, after);
    this.refs.service(before.shared, after.shared, tx !== undefined);
    for (const pair of before.endpointChains) this.endpointChains.move(pair, -1);
    for (const pair of before.nodePortChains) this.nodePortChains.move(pair, -1);
    for (const pair of after.endpointChains) this.endpointChains.move(pair, 1);
    for (const pair of after.nodePortChains) this.nodePortChains.move(pair, 1);
    if (next === undefined) this.memos.delete(key);
    else this.memos.set(key, next);
    const problemsOf = (m: Memo | undefined) => (m ? m.resolveProblems.length + m.claimProblems.length : 0);
    if (problemsOf(old) + problemsOf(next) > 0) this.problemList = undefined;
    if (problemsOf(next) > 0) this.problemKeys.add(key);
    else this.problemKeys.delete(key);
    return full;
  }

  /** Adds the shared DNAT chains that came into use, removes those that went out of use. */
  private finishChains(tx: Transaction | undefined): void {
    const endpoints = this.endpointChains.take();
    const nodePorts = this.nodePortChains.take();
    if (tx === undefined) return;
    for (const chain of dnatChains(this.family, endpoints.added, nodePorts.added)) tx.chain(undefined, chain);
    for (const chain of dnatChains(this.family, endpoints.removed, nodePorts.removed))
      tx.removeChain(chain.name);
  }
}

/**
 * One Service in the per-Service state (pure, for proxy-state.ts): what its rules are made from,
 * and when a change of its claims or input calls for a new one.
 */
import type { ServiceEntry } from "./endpoint-index.ts";
import type { RenderProblem } from "./nft-model.ts";
import { claimPorts, type PortOwners } from "./service-plan.ts";
import type { ClaimedPort, FamilyService } from "./service-rules.ts";

/**
 * One Service as the state holds it: what its rules are made from, not the rules. They are
 * rendered again when needed — its old and new rules when it changes (about 20 µs), every
 * Service's, one at a time, for a full sync — so 10,000 Services do not keep 100,000 element
 * strings and their arrays and maps alive between syncs.
 */
export interface Memo {
  readonly entry: ServiceEntry;
  readonly resolved: FamilyService | undefined;
  readonly resolveProblems: readonly RenderProblem[];
  readonly claimProblems: readonly RenderProblem[];
  /** Claims.key: which ports (and NodePorts) it got. */
  readonly claims: string;
  readonly ports: readonly ClaimedPort[];
}

const NO_PROBLEMS: readonly RenderProblem[] = [];

const sameProblems = (a: readonly RenderProblem[], b: readonly RenderProblem[]): boolean =>
  a.length === b.length && a.every((p, i) => p.message === b[i]?.message);

/**
 * The memo of a Service from its entry and resolved form, its ports claimed with `owners`; `old`
 * itself when it was not resolved again and its claims and their problems are the same.
 */
export function serviceMemo(
  entry: ServiceEntry,
  resolved: FamilyService | undefined,
  resolveProblems: RenderProblem[] | readonly RenderProblem[],
  old: Memo | undefined,
  resolvedAgain: boolean,
  owners: PortOwners,
): Memo {
  if (resolved === undefined) {
    const none: Memo = {
      entry,
      resolved,
      resolveProblems,
      claimProblems: NO_PROBLEMS,
      claims: "",
      ports: [],
    };
    return !resolvedAgain && old !== undefined ? old : none;
  }
  const claimProblems: RenderProblem[] = [];
  const claims = claimPorts(resolved, entry.service.ports, owners, claimProblems);
  if (
    !resolvedAgain &&
    old !== undefined &&
    old.claims === claims.key &&
    sameProblems(old.claimProblems, claimProblems)
  )
    return old;
  return {
    entry,
    resolved,
    resolveProblems,
    claimProblems: claimProblems.length === 0 ? NO_PROBLEMS : claimProblems,
    claims: claims.key,
    ports: claims.ports,
  };
}

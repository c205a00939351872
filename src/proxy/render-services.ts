/**
 * The Services' part of a table (pure): each Service's chains, affinity sets and shared elements,
 * reused from the previous render when its input did not change, and the shared DNAT chains for
 * the endpoint counts in use (service-rules.ts says why those are shared).
 */
import type { Endpoint, Service } from "../k8s/service-model.ts";
import { serviceKey } from "../k8s/service-model.ts";
import type { AddressCanonicalizer } from "./addresses.ts";
import { dnatChains } from "./dnat-chains.ts";
import type { NftChain, NftFamily, RenderProblem } from "./nft-model.ts";
import {
  type Claims,
  claimPorts,
  inputFingerprint,
  type PortOwners,
  resolveService,
} from "./service-plan.ts";
import { NOT_RENDERED, renderServiceRules, type ServiceRender } from "./service-render.ts";
import type { FamilyService } from "./service-rules.ts";

/** One Service's rules and how they were made, kept in the Ruleset for the next render. */
export interface ServiceMemo extends ServiceRender {
  /** inputFingerprint of the Service and its endpoints. */
  readonly fingerprint: string;
  readonly resolved: FamilyService | undefined;
  /** Problems found while resolving (reported again when the entry is reused). */
  readonly problems: readonly RenderProblem[];
  /** Claims.key of the ports it got. */
  readonly claims: string;
}

export interface ServicesInput {
  readonly family: NftFamily;
  readonly services: readonly { readonly service: Service; readonly endpoints: readonly Endpoint[] }[];
  readonly nodeName?: string;
}

export interface RenderedServices {
  /** By "namespace/name", in that order. */
  readonly services: ReadonlyMap<string, ServiceMemo>;
  /** The shared DNAT chains the Services jump to, by protocol then endpoint count. */
  readonly dnatChains: readonly NftChain[];
}

/** The memo of a Service that gets no rules in this family (no ClusterIP of it, or invalid). */
function unrendered(fingerprint: string, problems: readonly RenderProblem[]): ServiceMemo {
  return { fingerprint, resolved: undefined, problems, claims: "", ...NOT_RENDERED };
}

function rendered(
  addr: NftFamily,
  fingerprint: string,
  resolved: FamilyService,
  problems: readonly RenderProblem[],
  claims: Claims,
): ServiceMemo {
  return {
    fingerprint,
    resolved,
    problems,
    claims: claims.key,
    ...renderServiceRules(addr, resolved, claims.ports),
  };
}

/**
 * Renders every Service in key order; a Service whose fingerprint and claimed ports equal those
 * of its entry in `previous` gets that very entry back. Problems are appended to `problems`.
 */
export function renderServices(
  input: ServicesInput,
  addresses: AddressCanonicalizer,
  previous: ReadonlyMap<string, ServiceMemo> | undefined,
  problems: RenderProblem[],
): RenderedServices {
  const addr = input.family;
  /** "proto/count" pairs whose shared DNAT chains are in use. */
  const endpointsChains = new Set<string>();
  const nodeportEndpointsChains = new Set<string>();
  const owners: PortOwners = { ports: new Map(), nodePorts: new Map() };
  const services = new Map<string, ServiceMemo>();

  const sorted = input.services
    .map((entry) => ({ entry, key: serviceKey(entry.service) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const { entry, key } of sorted) {
    if (services.has(key)) {
      problems.push({
        kind: "duplicate-service",
        subject: key,
        message: `Service "${key}" is listed twice; the second is skipped`,
      });
      continue;
    }
    const fingerprint = inputFingerprint(entry.service, entry.endpoints, input.nodeName);
    const old = previous?.get(key);
    const same = old !== undefined && old.fingerprint === fingerprint;
    const found: RenderProblem[] = [];
    const resolved = same
      ? old.resolved
      : resolveService(addresses, entry.service, entry.endpoints, found, input.nodeName);
    const resolveProblems = same ? old.problems : found;
    problems.push(...resolveProblems);
    if (resolved === undefined) {
      services.set(key, unrendered(fingerprint, resolveProblems));
      continue;
    }
    const claims = claimPorts(resolved, entry.service.ports, owners, problems);
    const memo =
      same && old.claims === claims.key
        ? old
        : rendered(addr, fingerprint, resolved, resolveProblems, claims);
    services.set(key, memo);
    for (const pair of memo.endpointChains) endpointsChains.add(pair);
    for (const pair of memo.nodePortChains) nodeportEndpointsChains.add(pair);
  }
  return { services, dnatChains: dnatChains(addr, endpointsChains, nodeportEndpointsChains) };
}

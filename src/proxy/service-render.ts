/**
 * What one Service renders to, given the ports it got (pure): the chains, affinity sets and
 * shared elements of each port, and the shared DNAT chains those ports jump to. The whole-table
 * renderer (render-services.ts) and the per-Service state (proxy-state.ts) both build a Service
 * with this, so "what a Service renders to" has one definition.
 */
import type { ServiceRules } from "./nft-model.ts";
import { NO_SHARED_ELEMENTS } from "./nft-model.ts";
import type { ClaimedPort, FamilyService } from "./service-rules.ts";
import { renderServicePort } from "./service-rules.ts";
import { sharedElementsOf } from "./shared-elements.ts";

export interface ServiceRender extends ServiceRules {
  /** "proto/count" of the shared DNAT chains its ClusterIP ports jump to. */
  readonly endpointChains: readonly string[];
  /** The same for its NodePorts. */
  readonly nodePortChains: readonly string[];
}

/** A Service with no rules in this family (no ClusterIP of it, or invalid). */
export const NOT_RENDERED: ServiceRender = {
  chains: [],
  sets: [],
  shared: NO_SHARED_ELEMENTS,
  endpointChains: [],
  nodePortChains: [],
};

/** Renders the claimed `ports` of `resolved` for the table of `addr`. */
export function renderServiceRules(
  addr: "ip" | "ip6",
  resolved: FamilyService | undefined,
  ports: readonly ClaimedPort[],
): ServiceRender {
  if (resolved === undefined) return NOT_RENDERED;
  const outputs = ports.map((port) => renderServicePort(addr, resolved, port));
  const endpointChains: string[] = [];
  const nodePortChains: string[] = [];
  for (const out of outputs) {
    const proto = out.protocol.toLowerCase();
    if (out.endpointsChain !== undefined) endpointChains.push(`${proto}/${out.endpointsChain}`);
    if (out.nodePortEndpointsChain !== undefined)
      nodePortChains.push(`${proto}/${out.nodePortEndpointsChain}`);
  }
  return {
    chains: outputs.flatMap((o) => o.chains),
    sets: outputs.flatMap((o) => o.sets),
    // Not the outputs themselves: their element pairs are in `shared` already.
    shared: sharedElementsOf(resolved, outputs),
    endpointChains,
    nodePortChains,
  };
}

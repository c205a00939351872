/**
 * What the explain-*.ts parts share (pure): the question, the cluster and every node's facts, and
 * the shape of what each part finds about the address.
 */
import type { NodeFacts } from "../cluster/diagnosis-protocol.ts";
import type { ClusterSnapshot } from "./cluster-snapshot.ts";
import type {
  AddressKind,
  Age,
  BgpPart,
  BlockRoute,
  Check,
  EgressDecision,
  EndpointUse,
  FreePart,
  NodeAddressPart,
  NodeIPPart,
  NodePortPart,
  PodPart,
  Provenance,
  ServicePart,
} from "./explanation.ts";

export interface ExplainContext {
  readonly snapshot: ClusterSnapshot;
  readonly facts: readonly NodeFacts[];
  /** The address in canonical form. */
  readonly ip: string;
  readonly port?: number;
  readonly now: Date;
}

/** What one part found; explainAddress merges them. */
export interface Finding {
  readonly kinds: readonly AddressKind[];
  /** Phrases for the summary line. */
  readonly summary: readonly string[];
  readonly provenance?: Provenance;
  readonly pod?: PodPart;
  readonly gateway?: NodeAddressPart;
  readonly vtep?: NodeAddressPart;
  readonly nodeIP?: NodeIPPart;
  readonly bgp?: BgpPart;
  readonly service?: ServicePart;
  readonly nodePort?: NodePortPart;
  readonly endpointOf?: readonly EndpointUse[];
  readonly free?: FreePart;
  readonly egress?: readonly EgressDecision[];
  readonly routes?: readonly BlockRoute[];
  readonly checks?: readonly Check[];
  /** Drift subjects that concern the address (blocks, MACs, endpoints). */
  readonly subjects?: readonly string[];
}

export function factsOf(ctx: ExplainContext, node: string): NodeFacts | undefined {
  return ctx.facts.find((f) => f.node === node);
}

export function age(at: string, now: Date): Age {
  const t = Date.parse(at);
  return { at, ageSeconds: Number.isNaN(t) ? 0 : Math.round((now.getTime() - t) / 1000) };
}

/** "3m ago", "40s ago", "2h ago", "1d ago". */
export function agoText(seconds: number): string {
  if (seconds < 0) return "in the future";
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

/**
 * What `podnet trace` concludes and prints with --json (pure data): the verdict of prediction vs
 * observation and the TraceReport, documented in docs/trace-json.md as a stable schema. The
 * prediction's and observation's types are in prediction-types.ts and observation-types.ts.
 */
import type { ProbeResult, TraceProto } from "../cluster/diagnosis-protocol.ts";
import type { Observation } from "./observation-types.ts";
import type { Direction, DropReason, ObservationPoint, Prediction } from "./prediction-types.ts";

// ---- verdict --------------------------------------------------------------------------------

export type HopStatus =
  /** Seen as predicted. */
  | "observed"
  /** Seen, but not as predicted (other device, address, TTL, endpoint). */
  | "differs"
  /** Predicted but not seen although the node was traced. */
  | "missing"
  /** Nothing on this node can see it (inside a pod, the outer VXLAN packet without counters, outside). */
  | "unobservable"
  /** Not reached: an earlier hop already failed. */
  | "not-reached";

export interface HopComparison {
  readonly direction: Direction;
  /** Index into the predicted path's forward or reply hops. */
  readonly index: number;
  readonly point: ObservationPoint;
  readonly node?: string;
  readonly status: HopStatus;
  readonly note?: string;
}

export interface TraceVerdict {
  /**
   * agree: the observation matches the prediction (delivered, or lost where predicted);
   * disagree: they part at `firstDisagreement`; predicted-only: no probe was sent;
   * inconclusive: the probe ran but the nodes' reports cannot decide.
   */
  readonly status: "agree" | "disagree" | "predicted-only" | "inconclusive";
  readonly summary: string;
  readonly predicted: Prediction["outcome"];
  readonly observed?: Observation["outcome"];
  /** Which predicted path the observation followed (index into Prediction.paths). */
  readonly path: number;
  /**
   * The first point where what happened is not what the cluster means to happen: the prediction and
   * the observation part there, or both show the packet lost there for a named reason.
   */
  readonly firstDisagreement?: {
    readonly direction: Direction;
    readonly index: number;
    readonly node?: string;
    readonly point: ObservationPoint;
    readonly predicted: string;
    readonly observed: string;
    readonly reason: DropReason | "differs";
    readonly evidence: readonly string[];
  };
  /** The chosen endpoint is one of the candidates (a different one than predicted is not a disagreement). */
  readonly endpoint?: { readonly ip: string; readonly pod?: string; readonly candidate: boolean };
  readonly hops: readonly HopComparison[];
}

// ---- report ---------------------------------------------------------------------------------

export const TRACE_SCHEMA = "podnet.trace/v1";

export interface TraceEndpointView {
  readonly kind: "pod" | "node" | "service" | "node-port" | "external";
  readonly text: string;
  readonly ip: string;
  readonly port?: number;
  readonly node?: string;
  readonly pod?: string;
  readonly service?: string;
}

export interface TraceReport {
  readonly schema: typeof TRACE_SCHEMA;
  readonly source: TraceEndpointView;
  readonly destination: TraceEndpointView;
  readonly proto: TraceProto;
  readonly port?: number;
  readonly sourcePort?: number;
  readonly probed: boolean;
  readonly prediction: Prediction;
  readonly observation?: Observation;
  readonly verdict: TraceVerdict;
  /** Drift (datastore vs kernel) on the nodes and addresses of this path. */
  readonly drift: readonly {
    readonly node: string;
    readonly kind: string;
    readonly subject: string;
    readonly problem: string;
    readonly evidence: string;
    readonly command: string;
  }[];
  readonly missing: readonly { readonly node: string; readonly reason: string }[];
  readonly probe?: ProbeResult;
}

/**
 * The readiness of one checked pod as kubelet's prober keeps it (pkg/kubelet/prober/worker.go),
 * pure: a pod starts not ready and stays so until a check succeeds; afterwards the published state
 * flips only after `failureThreshold` consecutive failures or `successThreshold` consecutive
 * successes (a run of equal results; a different result starts a new run of 1). And when the
 * checks run: not before `initialDelaySeconds` after the pod was attached, then every period with
 * a little jitter so the checks of many pods drift apart instead of firing together.
 */
import type { ReadinessCheck } from "../node-state/node-state.ts";

export type CheckResult = "success" | "failure";

export interface ReadinessState {
  /** What is published: the pod is an endpoint only while this is true. */
  readonly ready: boolean;
  /** The last result and how many times in a row it came (0 before the first check). */
  readonly last: CheckResult | undefined;
  readonly run: number;
}

/** Readiness starts as failure (kubelet: `w.initialValue = results.Failure` for readiness). */
export const INITIAL_READINESS: ReadinessState = { ready: false, last: undefined, run: 0 };

/** The state after one check's `result`. */
export function nextReadiness(
  state: ReadinessState,
  result: CheckResult,
  check: Pick<ReadinessCheck, "successThreshold" | "failureThreshold">,
): ReadinessState {
  const run = state.last === result ? state.run + 1 : 1;
  const threshold = result === "success" ? check.successThreshold : check.failureThreshold;
  const ready = run >= threshold ? result === "success" : state.ready;
  return { ready, last: result, run };
}

/** Of a period, how much the time between two checks may differ (±5 %). */
export const PERIOD_JITTER = 0.1;

/**
 * Milliseconds until a pod's first check. A pod attached while the agent runs is checked as soon
 * as its initial delay (counted from the attachment) is over. Pods the agent finds when it starts
 * wait in addition a random part of one period (kubelet does this after its own restart), so a
 * restarted agent does not check every pod of the node at the same instant.
 */
export function firstCheckDelayMs(
  check: Pick<ReadinessCheck, "initialDelaySeconds" | "periodSeconds">,
  o: {
    readonly attachedAt: number;
    readonly now: number;
    readonly foundAtStart: boolean;
    readonly random: number;
  },
): number {
  const delayLeft = Math.max(0, o.attachedAt + check.initialDelaySeconds * 1000 - o.now);
  const spread = o.foundAtStart ? o.random * check.periodSeconds * 1000 : 0;
  return Math.round(Math.max(delayLeft, spread));
}

/** Milliseconds from one check's start to the next: the period ± half of PERIOD_JITTER. */
export function nextCheckDelayMs(check: Pick<ReadinessCheck, "periodSeconds">, random: number): number {
  return Math.round(check.periodSeconds * 1000 * (1 + (random - 0.5) * PERIOD_JITTER));
}

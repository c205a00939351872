import { describe, expect, test } from "bun:test";
import {
  type CheckResult,
  firstCheckDelayMs,
  INITIAL_READINESS,
  nextCheckDelayMs,
  nextReadiness,
  type ReadinessState,
} from "./readiness-state.ts";

const run = (results: string, successThreshold = 1, failureThreshold = 3, from = INITIAL_READINESS) => {
  const seen: boolean[] = [];
  let state: ReadinessState = from;
  for (const c of results) {
    const result: CheckResult = c === "s" ? "success" : "failure";
    state = nextReadiness(state, result, { successThreshold, failureThreshold });
    seen.push(state.ready);
  }
  return seen.map((r) => (r ? "R" : "-")).join("");
};

describe("nextReadiness (kubelet's thresholds)", () => {
  test("a pod is not ready until its first success, however few failures came before", () => {
    expect(INITIAL_READINESS.ready).toBe(false);
    expect(run("f")).toBe("-");
    expect(run("ffs")).toBe("--R");
    expect(run("s")).toBe("R");
  });

  test("failureThreshold consecutive failures make a ready pod unready; a success between resets the count", () => {
    expect(run("sfff", 1, 3)).toBe("RRR-");
    expect(run("sffsff", 1, 3)).toBe("RRRRRR");
    expect(run("sfffs", 1, 3)).toBe("RRR-R");
    expect(run("sf", 1, 1)).toBe("R-");
  });

  test("successThreshold consecutive successes make an unready pod ready, the first one included", () => {
    expect(run("sss", 2, 1)).toBe("-RR");
    expect(run("sfss", 2, 1)).toBe("---R");
    expect(run("ssfs", 2, 1)).toBe("-R--");
  });

  test("the run counts equal results in a row", () => {
    let state = nextReadiness(INITIAL_READINESS, "failure", { successThreshold: 1, failureThreshold: 3 });
    state = nextReadiness(state, "failure", { successThreshold: 1, failureThreshold: 3 });
    expect(state).toEqual({ ready: false, last: "failure", run: 2 });
    state = nextReadiness(state, "success", { successThreshold: 1, failureThreshold: 3 });
    expect(state).toEqual({ ready: true, last: "success", run: 1 });
  });
});

describe("when checks run", () => {
  const check = { initialDelaySeconds: 5, periodSeconds: 10 };

  test("a new pod is checked when its initial delay, counted from its attachment, is over", () => {
    expect(
      firstCheckDelayMs(check, { attachedAt: 1_000, now: 2_000, foundAtStart: false, random: 0.9 }),
    ).toBe(4_000);
    expect(
      firstCheckDelayMs(check, { attachedAt: 1_000, now: 9_000, foundAtStart: false, random: 0.9 }),
    ).toBe(0);
    expect(
      firstCheckDelayMs(
        { initialDelaySeconds: 0, periodSeconds: 1 },
        { attachedAt: 0, now: 0, foundAtStart: false, random: 0.5 },
      ),
    ).toBe(0);
  });

  test("pods found when the agent starts are spread over one period", () => {
    const o = { attachedAt: 0, now: 60_000, foundAtStart: true };
    expect(firstCheckDelayMs(check, { ...o, random: 0 })).toBe(0);
    expect(firstCheckDelayMs(check, { ...o, random: 0.5 })).toBe(5_000);
    // The initial delay still holds when it is longer.
    expect(firstCheckDelayMs(check, { ...o, now: 1_000, random: 0.1 })).toBe(4_000);
  });

  test("the period is jittered by ±5 %", () => {
    expect(nextCheckDelayMs(check, 0)).toBe(9_500);
    expect(nextCheckDelayMs(check, 0.5)).toBe(10_000);
    expect(nextCheckDelayMs(check, 1)).toBe(10_500);
  });
});

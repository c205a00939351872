import { describe, expect, test } from "bun:test";
import type { AgentMemoryResult } from "./agent-memory.ts";
import { agentMemoryReport, proxyShare } from "./agent-memory-report.ts";

const MEASURED: AgentMemoryResult = {
  measured: true,
  services: 10_000,
  endpoints: 100_000,
  withProxy: { empty: { rssMiB: 74.1234, hwmMiB: 75 }, loaded: { rssMiB: 266.0004, hwmMiB: 362.2 } },
  withoutProxy: { empty: { rssMiB: 75.2, hwmMiB: 75.3 }, loaded: { rssMiB: 76.4, hwmMiB: 76.45 } },
  tableMs: 12_283.4567,
  measuredAfterMs: 15_283.4567,
};

describe("proxyShare", () => {
  test("the agent with the proxy minus the agent without, resident and peak, unrounded", () => {
    const share = proxyShare(MEASURED);
    expect(share?.rssMiB).toBeCloseTo(189.6004, 9);
    expect(share?.hwmMiB).toBeCloseTo(285.75, 9);
  });

  test("none when the agents were not measured or the part did not run", () => {
    expect(proxyShare({ measured: false, reason: "the agent exited" })).toBeNull();
    expect(proxyShare(null)).toBeNull();
  });
});

describe("agentMemoryReport", () => {
  test("rounds every figure to 3 decimals and keeps the empty agent's RSS", () => {
    expect(agentMemoryReport(MEASURED)).toEqual({
      measured: true,
      services: 10_000,
      endpoints: 100_000,
      withProxy: { rssMiB: 266, hwmMiB: 362.2, emptyRssMiB: 74.123 },
      withoutProxy: { rssMiB: 76.4, hwmMiB: 76.45, emptyRssMiB: 75.2 },
      proxyShare: { rssMiB: 189.6, hwmMiB: 285.75 },
      tableMs: 12_283.457,
      measuredAfterMs: 15_283.457,
    });
  });

  test("a run that could not measure keeps its reason", () => {
    expect(agentMemoryReport({ measured: false, reason: "no --proxy flag" })).toEqual({
      measured: false,
      reason: "no --proxy flag",
    });
    expect(agentMemoryReport(null)).toBeNull();
  });
});

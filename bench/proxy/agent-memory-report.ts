/**
 * The proxy's share of a running agent's memory (pure): the agent with the proxy minus the agent
 * without it, same datastore content, same run; of the resident size (VmRSS) and of the peak
 * (VmHWM) each.
 */
import { round3 } from "../support/stats.ts";
import type { AgentMemoryResult, AgentRun } from "./agent-memory.ts";

/** The target for the proxy at 10,000 Services, peak included. */
export const AGENT_PROXY_TARGET = { max: 150, text: "≤ 150 MiB" } as const;

export interface AgentRunReport {
  readonly rssMiB: number;
  readonly hwmMiB: number;
  /** Resident once ready, before any Service was written. */
  readonly emptyRssMiB: number;
}

export type AgentMemoryReport =
  | {
      readonly measured: true;
      readonly services: number;
      readonly endpoints: number;
      readonly withProxy: AgentRunReport;
      readonly withoutProxy: AgentRunReport;
      /** withProxy − withoutProxy. */
      readonly proxyShare: Share;
      readonly tableMs: number;
      readonly measuredAfterMs: number;
    }
  | { readonly measured: false; readonly reason: string };

interface Share {
  readonly rssMiB: number;
  readonly hwmMiB: number;
}

const shareOf = (on: AgentRun, off: AgentRun): Share => ({
  rssMiB: on.loaded.rssMiB - off.loaded.rssMiB,
  hwmMiB: on.loaded.hwmMiB - off.loaded.hwmMiB,
});

/** The share, unrounded (what the targets judge); null when not measured. */
export function proxyShare(m: AgentMemoryResult | null): Share | null {
  return m?.measured ? shareOf(m.withProxy, m.withoutProxy) : null;
}

function runReport(r: AgentRun): AgentRunReport {
  return {
    rssMiB: round3(r.loaded.rssMiB),
    hwmMiB: round3(r.loaded.hwmMiB),
    emptyRssMiB: round3(r.empty.rssMiB),
  };
}

export function agentMemoryReport(m: AgentMemoryResult | null): AgentMemoryReport | null {
  if (m === null) return null;
  if (!m.measured) return m;
  const share = shareOf(m.withProxy, m.withoutProxy);
  return {
    measured: true,
    services: m.services,
    endpoints: m.endpoints,
    withProxy: runReport(m.withProxy),
    withoutProxy: runReport(m.withoutProxy),
    proxyShare: { rssMiB: round3(share.rssMiB), hwmMiB: round3(share.hwmMiB) },
    tableMs: round3(m.tableMs),
    measuredAfterMs: round3(m.measuredAfterMs),
  };
}

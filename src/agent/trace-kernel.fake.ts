/** A TraceKernel that records what a trace session did, for the agent's unit tests. */
import type { TraceEvent } from "../linux/kernel-facts.ts";
import type { TraceMonitor } from "../linux/nft-trace-monitor.ts";
import type { TraceRules } from "../linux/trace-table.ts";
import type { TraceKernel } from "./trace-session.ts";

export interface FakeTraceKernel extends TraceKernel {
  /** Tables present now. */
  readonly tables: Set<string>;
  readonly installed: TraceRules[];
  /** Monitors started and not stopped. */
  running: number;
  /** Events every monitor returns. */
  events: TraceEvent[];
  /** Makes the next install fail with this message. */
  failInstall?: string;
}

export function fakeTraceKernel(leftovers: readonly string[] = []): FakeTraceKernel {
  const k: FakeTraceKernel = {
    tables: new Set(leftovers),
    installed: [],
    running: 0,
    events: [],
    installTraceTable: async (rules) => {
      if (k.failInstall !== undefined) throw new Error(k.failInstall);
      k.tables.add(rules.table);
      k.installed.push(rules);
    },
    deleteTraceTable: async (table) => k.tables.delete(table),
    listTraceTables: async () => [...k.tables],
    readTraceCounters: async (table) => [
      { chain: "observe", name: `observe-post ${table}`, packets: 2, bytes: 120 },
    ],
    startTraceMonitor: async (): Promise<TraceMonitor> => {
      k.running++;
      let stopped = false;
      return {
        startedAt: Date.now(),
        events: () => k.events,
        stop: async () => {
          if (!stopped) k.running--;
          stopped = true;
          return k.events;
        },
        failure: () => undefined,
      };
    },
    listConntrack: async () => [],
    readSysctl: (key) => (key === "net.ipv4.ip_forward" ? "1" : undefined),
  };
  return k;
}

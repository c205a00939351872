/** A TraceKernel that records what a trace session did, for the agent's unit tests. */
import type { ConntrackFilter } from "../linux/conntrack-list.ts";
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
  /** Events the monitor dropped (the answer size limit). */
  dropped: number;
  /** Filters conntrack was asked with. */
  readonly conntrackFilters: ConntrackFilter[];
  /** Tables whose delete fails. */
  readonly undeletable: Set<string>;
  orphanSweeps: number;
}

export function fakeTraceKernel(leftovers: readonly string[] = []): FakeTraceKernel {
  const k: FakeTraceKernel = {
    tables: new Set(leftovers),
    installed: [],
    running: 0,
    events: [],
    dropped: 0,
    conntrackFilters: [],
    undeletable: new Set(),
    orphanSweeps: 0,
    installTraceTable: async (rules) => {
      if (k.failInstall !== undefined) throw new Error(k.failInstall);
      k.tables.add(rules.table);
      k.installed.push(rules);
    },
    deleteTraceTable: async (table) => {
      if (k.undeletable.has(table)) throw new Error(`nft: cannot delete ${table}: Device or resource busy`);
      return k.tables.delete(table);
    },
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
        dropped: () => k.dropped,
      };
    },
    listConntrack: async (filter) => {
      k.conntrackFilters.push(filter);
      return { entries: [], errors: [] };
    },
    readSysctl: (key) => (key === "net.ipv4.ip_forward" ? "1" : undefined),
    sweepOrphanMonitors: () => {
      k.orphanSweeps++;
      return [];
    },
  };
  return k;
}

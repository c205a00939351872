/**
 * One `podnet trace` on this node: the tracing table `inet podnet-trace-ID` (trace bit set at
 * raw−1 on prerouting and output for the request's address pairs and ports in both directions,
 * an observer after srcnat, VXLAN counters — research/trace-anchors.md §7), an `nft monitor
 * trace` confirmed live with a sentinel packet to loopback, and what the kernel saw once the
 * probe went: trace events, the flow's conntrack entries, the counters and the forwarding
 * sysctls. `close` removes whatever is still installed; it is safe to call at any point, twice.
 */
import type {
  ArmedReport,
  ConntrackFact,
  CounterFact,
  NodeObservation,
  TraceSpec,
} from "../cluster/diagnosis-protocol.ts";
import { listConntrack } from "../linux/conntrack-list.ts";
import { startTraceMonitor, type TraceMonitor } from "../linux/nft-trace-monitor.ts";
import {
  deleteTraceTable,
  installTraceTable,
  listTraceTables,
  readTraceCounters,
  type TraceRules,
} from "../linux/trace-table.ts";
import { readSysctl } from "./node-facts.ts";

/** The kernel side of a trace (linux/trace-table.ts, nft-trace-monitor.ts); tests pass fakes. */
export interface TraceKernel {
  readonly installTraceTable: (rules: TraceRules) => Promise<void>;
  readonly deleteTraceTable: (table: string) => Promise<boolean>;
  readonly listTraceTables: () => Promise<string[]>;
  readonly readTraceCounters: (table: string) => Promise<CounterFact[]>;
  readonly startTraceMonitor: typeof startTraceMonitor;
  readonly listConntrack: (filter: {
    addresses: readonly string[];
    limit?: number;
  }) => Promise<ConntrackFact[]>;
  readonly readSysctl: (key: string) => string | undefined;
}

export const TRACE_KERNEL: TraceKernel = {
  installTraceTable,
  deleteTraceTable,
  listTraceTables,
  readTraceCounters,
  startTraceMonitor,
  listConntrack,
  readSysctl,
};

export const TRACE_TABLE_PREFIX = "podnet-trace-";
const SENTINEL_ADDRESS = "127.0.0.1";
/** Sentinel ports come from this range, one per request id, so concurrent traces do not see each other's. */
const SENTINEL_BASE = 33_000;
const SENTINEL_SPAN = 16_000;
const MONITOR_READY_MS = 3000;
const CONNTRACK_LIMIT = 64;

export function traceTableName(id: string): string {
  return `${TRACE_TABLE_PREFIX}${id}`;
}

/** A loopback port derived from the request id (FNV-1a), for the monitor's sentinel packet. */
export function sentinelPort(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return SENTINEL_BASE + (h % SENTINEL_SPAN);
}

/** The tracing rules for a request (its spec was validated by cluster/diagnosis-records.ts). */
export function traceRules(id: string, spec: TraceSpec, vxlanPort: number): TraceRules {
  const ports = new Set(spec.match.ports);
  if (spec.proto !== "icmp") {
    if (spec.sourcePort !== undefined) ports.add(spec.sourcePort);
    if (spec.destination.port !== undefined) ports.add(spec.destination.port);
  }
  return {
    table: traceTableName(id),
    l4proto: spec.proto,
    pairs: spec.match.pairs,
    ports: spec.proto === "icmp" ? [] : [...ports].sort((a, b) => a - b),
    vxlan: { port: vxlanPort, peers: spec.vxlanPeers },
    sentinel: { address: SENTINEL_ADDRESS, port: sentinelPort(id) },
  };
}

/** Every address the flow's conntrack entries may name: the pairs' ends and the destination. */
export function flowAddresses(spec: TraceSpec): string[] {
  return [...new Set([...spec.match.pairs.flat(), spec.destination.ip])];
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class TraceSession {
  readonly table: string;
  private monitor: TraceMonitor | undefined;
  private installed = false;
  private closed = false;

  constructor(
    readonly id: string,
    readonly spec: TraceSpec,
    private readonly o: {
      readonly nodeName: string;
      readonly vxlanPort: number;
      /** The sysctls reported with the observation. */
      readonly sysctlKeys: readonly string[];
      readonly kernel?: TraceKernel;
    },
  ) {
    this.table = traceTableName(id);
  }

  private get kernel(): TraceKernel {
    return this.o.kernel ?? TRACE_KERNEL;
  }

  get armed(): boolean {
    return this.monitor !== undefined && !this.closed;
  }

  /** Installs the table and starts the monitor; on failure removes the table and reports why. */
  async arm(): Promise<ArmedReport> {
    const report = { node: this.o.nodeName, table: `inet ${this.table}` };
    try {
      if (this.closed) throw new Error("the trace session was closed before it was armed");
      const rules = traceRules(this.id, this.spec, this.o.vxlanPort);
      await this.kernel.installTraceTable(rules);
      // Set only now: a close() that ran during the install found nothing to delete, so the
      // check below (and the catch) must remove the table.
      this.installed = true;
      if (this.closed) throw new Error("the trace session was closed while it was armed");
      const monitor = await this.kernel.startTraceMonitor({
        sentinel: rules.sentinel,
        readyTimeoutMs: MONITOR_READY_MS,
      });
      // Closed while the monitor started (the request went): stop what just started.
      if (this.closed) {
        await monitor.stop();
        throw new Error("the trace session was closed while it was armed");
      }
      this.monitor = monitor;
      return report;
    } catch (e) {
      await this.close();
      return { ...report, error: message(e) };
    }
  }

  /**
   * What the kernel saw: stops the monitor, reads the flow's conntrack entries, the counters and
   * the sysctls, then removes the table. Parts that fail are named in `errors`.
   */
  async observe(): Promise<NodeObservation> {
    const errors: string[] = [];
    const attempt = async <T>(what: string, fallback: T, body: () => Promise<T>): Promise<T> => {
      try {
        return await body();
      } catch (e) {
        errors.push(`${what}: ${message(e)}`);
        return fallback;
      }
    };
    const monitor = this.monitor;
    this.monitor = undefined;
    const events = monitor === undefined ? [] : await attempt("nft monitor trace", [], () => monitor.stop());
    if (monitor === undefined) errors.push("the trace monitor was not running");
    const died = monitor?.failure();
    if (died !== undefined) errors.push(`nft monitor trace ended early: ${died}`);
    const [conntrack, counters] = await Promise.all([
      attempt("conntrack", [], () =>
        this.kernel.listConntrack({ addresses: flowAddresses(this.spec), limit: CONNTRACK_LIMIT }),
      ),
      attempt("counters", [], () => this.kernel.readTraceCounters(this.table)),
    ]);
    const sysctls: Record<string, string> = {};
    for (const key of this.o.sysctlKeys) {
      try {
        const value = this.kernel.readSysctl(key);
        if (value !== undefined) sysctls[key] = value;
      } catch (e) {
        errors.push(`sysctl ${key}: ${message(e)}`);
      }
    }
    try {
      await this.removeTable();
    } catch (e) {
      errors.push(`deleting table inet ${this.table}: ${message(e)}`);
    }
    return { node: this.o.nodeName, events, conntrack, counters, sysctls, errors };
  }

  /** Stops the monitor and removes the table, whatever state the session is in. */
  async close(): Promise<void> {
    this.closed = true;
    const monitor = this.monitor;
    this.monitor = undefined;
    const failures: string[] = [];
    if (monitor !== undefined) await monitor.stop().catch((e: unknown) => failures.push(message(e)));
    await this.removeTable().catch((e: unknown) => failures.push(message(e)));
    if (failures.length > 0)
      throw new Error(`Cannot end trace session ${this.id} cleanly: ${failures.join("; ")}`);
  }

  private async removeTable(): Promise<void> {
    if (!this.installed) return;
    await this.kernel.deleteTraceTable(this.table);
    this.installed = false;
  }
}

/** Removes every podnet-trace-* table (leftovers of an agent that died mid-trace); returns their names. */
export async function sweepTraceTables(kernel: TraceKernel = TRACE_KERNEL): Promise<string[]> {
  const tables = (await kernel.listTraceTables()).filter((t) => t.startsWith(TRACE_TABLE_PREFIX));
  for (const table of tables) await kernel.deleteTraceTable(table);
  return tables;
}

/**
 * One `podnet trace` on this node: the tracing table `inet podnet-trace-ID` (trace bit set at
 * raw−1 on prerouting and output for the request's address pairs and ports in both directions,
 * an observer after srcnat, VXLAN counters — research/trace-anchors.md §7), an `nft monitor
 * trace` confirmed live with a sentinel packet to loopback, and what the kernel saw once the
 * probe went: trace events, the flow's conntrack entries, the counters and the forwarding
 * sysctls. `close` removes whatever is still installed; it is safe to call at any point, twice.
 */

import { errorText } from "../base/error-text.ts";
import type { ArmedReport, CounterFact, NodeObservation, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { type ConntrackFilter, type ConntrackListing, listConntrack } from "../linux/conntrack-list.ts";
import { startTraceMonitor, sweepOrphanMonitors, type TraceMonitor } from "../linux/nft-trace-monitor.ts";
import {
  deleteTraceTable,
  installTraceTable,
  listTraceTables,
  readTraceCounters,
  type TraceRules,
} from "../linux/trace-table.ts";
import { readSysctl } from "./node-sysctls.ts";
import { partialAnswer } from "./partial-answer.ts";

/** The kernel side of a trace (linux/trace-table.ts, nft-trace-monitor.ts); tests pass fakes. */
export interface TraceKernel {
  readonly installTraceTable: (rules: TraceRules) => Promise<void>;
  readonly deleteTraceTable: (table: string) => Promise<boolean>;
  readonly listTraceTables: () => Promise<string[]>;
  readonly readTraceCounters: (table: string) => Promise<CounterFact[]>;
  readonly startTraceMonitor: typeof startTraceMonitor;
  readonly listConntrack: (filter: ConntrackFilter) => Promise<ConntrackListing>;
  readonly readSysctl: (key: string) => string | undefined;
  /** Ends `nft monitor trace` children a crashed agent left; their pids. */
  readonly sweepOrphanMonitors: () => number[];
}

export const TRACE_KERNEL: TraceKernel = {
  installTraceTable,
  deleteTraceTable,
  listTraceTables,
  readTraceCounters,
  startTraceMonitor,
  listConntrack: (filter) => listConntrack(filter),
  readSysctl,
  sweepOrphanMonitors: () => sweepOrphanMonitors(),
};

export const TRACE_TABLE_PREFIX = "podnet-trace-";
/**
 * The sentinel datagram goes to the discard port (RFC 863), below every ephemeral range (Linux
 * 32768–60999) and the NodePort range, so no client socket of the node receives it; each session
 * has its own loopback address in 127.80.0.0/16 (the whole 127/8 is local), so concurrent
 * sessions tell their sentinels apart.
 */
export const SENTINEL_PORT = 9;
const SENTINEL_NET = "127.80";
const MONITOR_READY_MS = 3000;
const CONNTRACK_LIMIT = 64;

export function traceTableName(id: string): string {
  return `${TRACE_TABLE_PREFIX}${id}`;
}

/**
 * Pure: the loopback address of the session's sentinel, derived from the request id (FNV-1a) and
 * moved on past the addresses `inUse` by sessions still running.
 */
export function sentinelAddress(id: string, inUse: ReadonlySet<string> = new Set()): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  for (let n = 0; n < 254 * 256; n++) {
    const slot = (h + n) % (254 * 256);
    const address = `${SENTINEL_NET}.${Math.floor(slot / 254)}.${(slot % 254) + 1}`;
    if (!inUse.has(address)) return address;
  }
  throw new Error("no free sentinel address (more than 65000 trace sessions at once)");
}

/** Sentinel addresses of this agent's sessions that are armed or arming. */
const sentinelsInUse = new Set<string>();

/**
 * The tracing rules for a request (its spec was validated by cluster/diagnosis-records.ts). The
 * probe's source port is matched exactly on the pairs that start at the probe's source address
 * (trace-plan.ts lists them first: source → destination, source → each endpoint); the other
 * pairs are the legs after a masquerade (node address → endpoint or outside host, gateway → pod
 * for a hairpin), where the proxy's fully-random masquerade gave the flow another source port.
 */
export function traceRules(
  id: string,
  spec: TraceSpec,
  vxlanPort: number,
  sentinel = sentinelAddress(id),
): TraceRules {
  const sourcePort = spec.proto === "icmp" ? undefined : spec.sourcePort;
  const ports = new Set(spec.match.ports);
  if (spec.proto !== "icmp" && spec.destination.port !== undefined) ports.add(spec.destination.port);
  // The probe's own port is matched on its side of the tuple, not as a destination port.
  if (sourcePort !== undefined && sourcePort !== spec.destination.port) ports.delete(sourcePort);
  const origin = spec.match.pairs[0]?.[0];
  const own = spec.match.pairs.filter(([a]) => sourcePort === undefined || a === origin);
  const natPairs = spec.match.pairs.filter(([a]) => sourcePort !== undefined && a !== origin);
  return {
    table: traceTableName(id),
    l4proto: spec.proto,
    pairs: own,
    ...(natPairs.length > 0 ? { natPairs } : {}),
    ports: spec.proto === "icmp" ? [] : [...ports].sort((a, b) => a - b),
    ...(sourcePort !== undefined ? { sourcePort } : {}),
    vxlan: { port: vxlanPort, peers: spec.vxlanPeers },
    sentinel: { address: sentinel, port: SENTINEL_PORT },
  };
}

/** Every address the flow's conntrack entries may name: the pairs' ends and the destination. */
export function flowAddresses(spec: TraceSpec): string[] {
  return [...new Set([...spec.match.pairs.flat(), spec.destination.ip])];
}

export class TraceSession {
  readonly table: string;
  private monitor: TraceMonitor | undefined;
  private installed = false;
  private closed = false;
  /** Why the session was closed (the request went, the agent stops, …). */
  private closedBecause = "";
  private sentinel: string | undefined;

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
      if (this.closed)
        throw new Error(`the trace session was closed before it was armed (${this.closedBecause})`);
      this.sentinel = sentinelAddress(this.id, sentinelsInUse);
      sentinelsInUse.add(this.sentinel);
      const rules = traceRules(this.id, this.spec, this.o.vxlanPort, this.sentinel);
      await this.kernel.installTraceTable(rules);
      // Set only now: a close() that ran during the install found nothing to delete, so the
      // check below (and the catch) must remove the table.
      this.installed = true;
      if (this.closed)
        throw new Error(`the trace session was closed while it was armed (${this.closedBecause})`);
      const monitor = await this.kernel.startTraceMonitor({
        sentinel: rules.sentinel,
        readyTimeoutMs: MONITOR_READY_MS,
      });
      // Closed while the monitor started (the request went): stop what just started.
      if (this.closed) {
        await monitor.stop();
        throw new Error(`the trace session was closed while it was armed (${this.closedBecause})`);
      }
      this.monitor = monitor;
      return report;
    } catch (e) {
      await this.close("arming failed");
      return { ...report, error: errorText(e) };
    }
  }

  /**
   * What the kernel saw: stops the monitor, reads the flow's conntrack entries, the counters and
   * the sysctls, then removes the table. Parts that fail are named in `errors`.
   */
  async observe(): Promise<NodeObservation> {
    const { errors, attempt } = partialAnswer();
    const monitor = this.monitor;
    this.monitor = undefined;
    const events = monitor === undefined ? [] : await attempt("nft monitor trace", [], () => monitor.stop());
    if (monitor === undefined) errors.push("the trace monitor was not running");
    const died = monitor?.failure();
    if (died !== undefined) errors.push(`nft monitor trace ended early: ${died}`);
    const dropped = monitor?.dropped() ?? 0;
    if (dropped > 0)
      errors.push(
        `nft monitor trace: ${dropped} events dropped after the first ${events.length} (answer size limit)`,
      );
    const sourcePort = this.spec.proto === "icmp" ? undefined : this.spec.sourcePort;
    const [listing, counters] = await Promise.all([
      attempt("conntrack", { entries: [], errors: [] }, () =>
        this.kernel.listConntrack({
          addresses: flowAddresses(this.spec),
          limit: CONNTRACK_LIMIT,
          // The probe's flow only, filtered in the kernel by its source port when it has one.
          ...(sourcePort !== undefined && this.spec.proto !== "icmp"
            ? { proto: this.spec.proto, sourcePort }
            : {}),
        }),
      ),
      attempt("counters", [], () => this.kernel.readTraceCounters(this.table)),
    ]);
    const conntrack = listing.entries;
    errors.push(...listing.errors);
    const sysctls: Record<string, string> = {};
    for (const key of this.o.sysctlKeys) {
      try {
        const value = this.kernel.readSysctl(key);
        if (value !== undefined) sysctls[key] = value;
      } catch (e) {
        errors.push(`sysctl ${key}: ${errorText(e)}`);
      }
    }
    try {
      await this.removeTable();
    } catch (e) {
      errors.push(`deleting table inet ${this.table}: ${errorText(e)}`);
    }
    this.releaseSentinel();
    return { node: this.o.nodeName, events, conntrack, counters, sysctls, errors };
  }

  private releaseSentinel(): void {
    if (this.sentinel !== undefined) sentinelsInUse.delete(this.sentinel);
    this.sentinel = undefined;
  }

  /** Stops the monitor and removes the table, whatever state the session is in; `reason` is for errors. */
  async close(reason = "closed"): Promise<void> {
    if (!this.closed) this.closedBecause = reason;
    this.closed = true;
    const monitor = this.monitor;
    this.monitor = undefined;
    const failures: string[] = [];
    if (monitor !== undefined) await monitor.stop().catch((e: unknown) => failures.push(errorText(e)));
    await this.removeTable().catch((e: unknown) => failures.push(errorText(e)));
    this.releaseSentinel();
    if (failures.length > 0)
      throw new Error(`Cannot end trace session ${this.id} cleanly: ${failures.join("; ")}`);
  }

  private async removeTable(): Promise<void> {
    if (!this.installed) return;
    await this.kernel.deleteTraceTable(this.table);
    this.installed = false;
  }
}

export class TraceSweepError extends Error {
  override readonly name = "TraceSweepError";
  constructor(
    readonly removed: readonly string[],
    readonly failures: readonly string[],
  ) {
    super(`Cannot remove every leftover trace table: ${failures.join("; ")}`);
  }
}

/**
 * Removes every podnet-trace-* table but those in `keep` (live sessions), each on its own so one
 * failure leaves no other behind, and ends the monitors a crashed agent left; returns the tables
 * removed. Throws TraceSweepError naming each failure after trying all.
 */
export async function sweepTraceTables(
  kernel: TraceKernel = TRACE_KERNEL,
  keep: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const failures: string[] = [];
  try {
    kernel.sweepOrphanMonitors();
  } catch (e) {
    failures.push(`leftover nft monitor trace processes: ${errorText(e)}`);
  }
  const tables = (await kernel.listTraceTables()).filter(
    (t) => t.startsWith(TRACE_TABLE_PREFIX) && !keep.has(t),
  );
  const removed: string[] = [];
  for (const table of tables) {
    try {
      await kernel.deleteTraceTable(table);
      removed.push(table);
    } catch (e) {
      failures.push(`table inet ${table}: ${errorText(e)}`);
    }
  }
  if (failures.length > 0) throw new TraceSweepError(removed, failures);
  return removed;
}

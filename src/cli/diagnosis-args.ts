/**
 * The command lines of `podnet explain` and `podnet trace`: everything is checked before the
 * datastore is opened, so a typo costs nothing. A malformed command line is a UsageError (exit
 * 2); a value that cannot be used (an address that is none) is the caller's typed error (exit 1).
 */
import { basename } from "node:path";
import { validateNetnsName } from "../linux/netns.ts";
import type { ParsedArgs } from "./args.ts";

// The probe defaults live with the trace pipeline (podnet ui uses them too); re-exported for the commands.
export {
  PROBE_TIMEOUT_MS,
  probeTimeoutFor,
  randomSourcePort,
  SOURCE_PORT_MAX,
  SOURCE_PORT_MIN,
} from "../diagnosis/run-trace.ts";

import { assertKnownFlags, flag, UsageError } from "./args.ts";

export const EXPLAIN_USAGE = "podnet explain ADDRESS[:PORT] --datastore SPEC [--json] [--timeout-ms N]";
export const TRACE_USAGE =
  "podnet trace SOURCE DESTINATION[:PORT][/tcp|udp|icmp] --datastore SPEC [--json] [--no-probe] [--timeout-ms N]";

/** Flags with no value, for parseArgs. */
export const EXPLAIN_SWITCHES = ["json", "help"];
export const TRACE_SWITCHES = ["json", "no-probe", "help"];

/** How long explain waits for the agents' facts. */
export const EXPLAIN_TIMEOUT_MS = 3000;
/** How long a trace session may take as a whole. */
export const TRACE_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 60_000;

function timeoutFlag(args: ParsedArgs, fallback: number): number {
  const text = flag(args, "timeout-ms");
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 100 || n > MAX_TIMEOUT_MS)
    throw new UsageError(`--timeout-ms "${text}" must be an integer from 100 to ${MAX_TIMEOUT_MS}`);
  return n;
}

function datastoreFlag(args: ParsedArgs, usage: string): string {
  const datastore = flag(args, "datastore");
  if (!datastore) throw new UsageError(`--datastore is required\nusage: ${usage}`);
  return datastore;
}

export interface ExplainArgs {
  /** ADDRESS[:PORT] as written; diagnosis/explain.ts parses it. */
  readonly target: string;
  readonly datastore: string;
  readonly json: boolean;
  readonly timeoutMs: number;
}

export function parseExplainArgs(args: ParsedArgs): ExplainArgs {
  assertKnownFlags(args, ["datastore", "json", "timeout-ms"]);
  const [target, ...extra] = args.positionals;
  if (target === undefined) throw new UsageError(`usage: ${EXPLAIN_USAGE}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"\nusage: ${EXPLAIN_USAGE}`);
  return {
    target,
    datastore: datastoreFlag(args, EXPLAIN_USAGE),
    json: flag(args, "json") !== undefined,
    timeoutMs: timeoutFlag(args, EXPLAIN_TIMEOUT_MS),
  };
}

export interface TraceArgs {
  readonly source: string;
  /** DESTINATION[:PORT][/proto] as written; diagnosis/trace-plan.ts parses it. */
  readonly destination: string;
  readonly datastore: string;
  readonly json: boolean;
  readonly probe: boolean;
  readonly timeoutMs: number;
  /**
   * Hidden (the lab's): a network namespace to send the probe from, with `ip netns exec`, when
   * the source is outside the cluster and no agent can send for it.
   */
  readonly externalProbeNetns?: string;
}

export function parseTraceArgs(args: ParsedArgs): TraceArgs {
  assertKnownFlags(args, ["datastore", "json", "no-probe", "timeout-ms", "external-probe-netns"]);
  const [source, destination, ...extra] = args.positionals;
  if (source === undefined || destination === undefined) throw new UsageError(`usage: ${TRACE_USAGE}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"\nusage: ${TRACE_USAGE}`);
  const netns = flag(args, "external-probe-netns");
  if (netns !== undefined) {
    try {
      validateNetnsName(netns);
    } catch (e) {
      throw new UsageError(`--external-probe-netns: ${(e as Error).message}`);
    }
  }
  return {
    source,
    destination,
    datastore: datastoreFlag(args, TRACE_USAGE),
    json: flag(args, "json") !== undefined,
    probe: flag(args, "no-probe") === undefined,
    timeoutMs: timeoutFlag(args, TRACE_TIMEOUT_MS),
    ...(netns !== undefined ? { externalProbeNetns: netns } : {}),
  };
}

/**
 * The argv that runs this very podnet again: the compiled executable alone, or the Bun runtime
 * and the entry script when running from source.
 */
export function selfCommand(execPath: string = process.execPath, main: string = Bun.main): string[] {
  return basename(execPath) === "bun" || basename(execPath) === "bun-debug" ? [execPath, main] : [execPath];
}

/**
 * `podnet probe --to IP [--port N] --proto tcp|udp|icmp [--sport N] [--timeout-ms N]`: the probe
 * of `podnet trace`, run by the source node's agent inside the source pod's namespace. Prints one
 * ProbeResult JSON line; exits 0 whatever the network did (the outcome says it), 2 for bad flags.
 */

import { type ProbeOptions, runProbe } from "../agent/trace-probe.ts";
import type { TraceProto } from "../cluster/diagnosis-protocol.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { assertKnownFlags, flag, type ParsedArgs, parseArgs, UsageError } from "./args.ts";

export const PROBE_USAGE =
  "podnet probe --to IP [--port N] --proto tcp|udp|icmp [--sport N] [--timeout-ms N]";

const DEFAULT_TIMEOUT_MS = 2000;
const MAX_TIMEOUT_MS = 30_000;

function integerFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const text = flag(args, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max)
    throw new UsageError(`--${name} "${text}" must be an integer from ${min} to ${max}`);
  return n;
}

export function parseProbeArgs(argv: readonly string[]): ProbeOptions {
  const args = parseArgs(argv);
  assertKnownFlags(args, ["to", "port", "proto", "sport", "timeout-ms"]);
  const [extra] = args.positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const toText = flag(args, "to");
  if (toText === undefined) throw new UsageError("--to is required");
  const to = tryParseIP(toText);
  if (to === undefined) throw new UsageError(`--to "${toText}" must be an IPv4 or IPv6 address`);
  const protoText = flag(args, "proto");
  if (protoText === undefined) throw new UsageError("--proto is required (tcp, udp or icmp)");
  if (protoText !== "tcp" && protoText !== "udp" && protoText !== "icmp")
    throw new UsageError(`--proto "${protoText}" must be tcp, udp or icmp`);
  const proto: TraceProto = protoText;
  const port = integerFlag(args, "port", 1, 65535);
  const sport = integerFlag(args, "sport", 1, 65535);
  if (proto !== "icmp" && port === undefined)
    throw new UsageError(`--port is required with --proto ${proto}`);
  if (proto === "icmp" && (port !== undefined || sport !== undefined))
    throw new UsageError("--port and --sport do not apply to --proto icmp");
  return {
    to: formatIP(to),
    proto,
    ...(port !== undefined ? { port } : {}),
    ...(sport !== undefined ? { sport } : {}),
    timeoutMs: integerFlag(args, "timeout-ms", 1, MAX_TIMEOUT_MS) ?? DEFAULT_TIMEOUT_MS,
  };
}

export async function probeCommand(argv: string[]): Promise<number> {
  let options: ProbeOptions;
  try {
    options = parseProbeArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`podnet probe: ${e.message}\nusage: ${PROBE_USAGE}`);
    return 2;
  }
  console.log(JSON.stringify(await runProbe(options)));
  return 0;
}

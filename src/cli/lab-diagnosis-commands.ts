/** `podnet lab explain` and `podnet lab trace`: explain and trace on the lab's cluster. */
import { labExplain, labTrace } from "../lab/lab-diagnosis.ts";
import { requireLabState } from "../lab/lab-state.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, UsageError } from "./args.ts";

/** Flags of explain and trace that take no value (for parseArgs). */
export const LAB_DIAGNOSIS_SWITCHES: readonly string[] = ["json", "no-probe"];

export const LAB_EXPLAIN_USAGE = "usage: podnet lab explain NAME|ADDRESS[:PORT] [--json] [--timeout-ms N]";
export const LAB_TRACE_USAGE =
  "usage: podnet lab trace SRC DST[:PORT][/tcp|udp|icmp] [--json] [--no-probe] [--timeout-ms N]";

export async function labExplainCommand(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["json", "timeout-ms"]);
  const [target, ...extra] = args.positionals;
  if (target === undefined || extra.length > 0) throw new UsageError(LAB_EXPLAIN_USAGE);
  const timeoutMs = flag(args, "timeout-ms");
  return await labExplain(requireLabState(), target, {
    json: flag(args, "json") !== undefined,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

export async function labTraceCommand(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, ["json", "no-probe", "timeout-ms"]);
  const [source, destination, ...extra] = args.positionals;
  if (source === undefined || destination === undefined || extra.length > 0)
    throw new UsageError(LAB_TRACE_USAGE);
  const timeoutMs = flag(args, "timeout-ms");
  return await labTrace(requireLabState(), source, destination, {
    json: flag(args, "json") !== undefined,
    noProbe: flag(args, "no-probe") !== undefined,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

/**
 * The probe for a trace whose source is outside the cluster, where no podnet agent runs: the
 * requester runs `podnet probe` itself inside the network namespace it was given (the lab's
 * external host) and hands the result to the session. Nothing from the trace spec reaches the
 * command line unchecked: it is the validated spec the agents get too.
 */

import type { ProbeResult, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { parseProbeResult } from "../cluster/diagnosis-records.ts";
import { formatIP, parseIP } from "../ipnet/address.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";

export class ExternalProbeError extends Error {
  override readonly name = "ExternalProbeError";
}

/** `probe --to IP [--port N] --proto P [--sport N] --timeout-ms N` (after the podnet argv). */
export function probeArgv(spec: TraceSpec): string[] {
  const argv = ["probe", "--to", formatIP(parseIP(spec.destination.ip)), "--proto", spec.proto];
  if (spec.proto !== "icmp") {
    if (spec.destination.port === undefined)
      throw new ExternalProbeError(`Cannot probe ${spec.destination.ip} over ${spec.proto}: no port`);
    argv.push("--port", String(spec.destination.port));
    if (spec.sourcePort !== undefined) argv.push("--sport", String(spec.sourcePort));
  }
  argv.push("--timeout-ms", String(spec.probeTimeoutMs));
  return argv;
}

/** A prober that runs `podnet probe` (argv `self`) inside the named network namespace. */
export function externalProber(
  netns: string,
  self: readonly string[],
): (spec: TraceSpec) => Promise<ProbeResult> {
  return async (spec) => {
    const argv = inNetns(netns, [...self, ...probeArgv(spec)]);
    const r = await run(argv, { timeoutMs: spec.probeTimeoutMs + 5000 });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.code !== 0 || line === "")
      throw new ExternalProbeError(
        `podnet probe in namespace ${netns} failed (exit ${r.code}): ${r.stderr.trim() || "no output"}`,
      );
    return parseProbeResult(`probe from namespace ${netns}`, line);
  };
}

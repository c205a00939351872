/**
 * `podnet trace SOURCE DESTINATION[:PORT][/tcp|udp|icmp] --datastore SPEC [--json] [--no-probe]
 * [--timeout-ms N]`: the path a packet takes, hop by hop in both directions, predicted from the
 * datastore and every node's kernel, and — unless --no-probe — verified with a real packet the
 * source's agent sends while every node on the path watches (diagnosis/diagnosis-client.ts).
 *
 * Exit codes: 0 when the trace completed, WHATEVER its verdict — a trace that shows a drop or a
 * disagreement did its job, and the verdict is in the output (and in `--json`'s `verdict`), so a
 * script reads that rather than the exit code; 1 when it could not be traced (unknown source or
 * destination, a source outside the cluster, datastore unreachable); 2 for a malformed command line.
 */
import { externalProber } from "../diagnosis/external-probe.ts";
import { renderTraceReport } from "../diagnosis/render-trace.ts";
import { runTrace } from "../diagnosis/run-trace.ts";
import { parseTraceDestination } from "../diagnosis/trace-destination.ts";
import {
  parseTraceArgs,
  probeTimeoutFor,
  randomSourcePort,
  selfCommand,
  TRACE_USAGE,
} from "./diagnosis-args.ts";
import { diagnosisCommand } from "./diagnosis-command.ts";

export { TraceSourceError } from "../diagnosis/run-trace.ts";

export const traceCommand = diagnosisCommand({
  usage: TRACE_USAGE,
  options: (args) => {
    const options = parseTraceArgs(args);
    // Before the datastore is opened: a malformed destination costs nothing.
    parseTraceDestination(options.destination);
    return options;
  },
  run: (store, options) => {
    const netns = options.externalProbeNetns;
    return runTrace(store, {
      source: options.source,
      destination: options.destination,
      probe: options.probe,
      timeoutMs: options.timeoutMs,
      sourcePort: randomSourcePort(),
      probeTimeoutMs: probeTimeoutFor(options.timeoutMs),
      ...(netns !== undefined ? { externalProber: externalProber(netns, selfCommand()) } : {}),
    });
  },
  render: renderTraceReport,
});

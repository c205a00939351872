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
import { compareTrace } from "../diagnosis/compare.ts";
import { runTraceSession } from "../diagnosis/diagnosis-client.ts";
import { findDrift } from "../diagnosis/drift.ts";
import { externalProber } from "../diagnosis/external-probe.ts";
import { observeTrace } from "../diagnosis/observe.ts";
import { predictTrace } from "../diagnosis/predict.ts";
import { renderTraceReport } from "../diagnosis/render-trace.ts";
import { screenFacts } from "../diagnosis/screen-facts.ts";
import { readClusterSnapshot } from "../diagnosis/snapshot-reader.ts";
import { resolveTarget } from "../diagnosis/target.ts";
import { defaultTraceProto, parseTraceDestination } from "../diagnosis/trace-destination.ts";
import { planTrace } from "../diagnosis/trace-plan.ts";
import { buildTraceReport } from "../diagnosis/trace-report.ts";
import { openStore } from "../store/open-store.ts";
import type { ParsedArgs } from "./args.ts";
import {
  parseTraceArgs,
  probeTimeoutFor,
  randomSourcePort,
  selfCommand,
  TRACE_USAGE,
} from "./diagnosis-args.ts";
import { CONSOLE_IO, type DiagnosisCommandIO } from "./explain.ts";

/** A source no podnet agent can send from, without a namespace to send from instead. */
export class TraceSourceError extends Error {
  override readonly name = "TraceSourceError";
}

export async function traceCommand(
  argv: readonly string[],
  parse: (a: readonly string[]) => ParsedArgs,
  io: DiagnosisCommandIO = CONSOLE_IO,
): Promise<number> {
  const args = parse(argv);
  if (args.flags.has("help") || argv[0] === "help") {
    io.out(`usage: ${TRACE_USAGE}`);
    return 0;
  }
  const options = parseTraceArgs(args);
  const { target, proto } = parseTraceDestination(options.destination);
  const store = await openStore(options.datastore);
  try {
    const snapshot = await readClusterSnapshot(store);
    const source = resolveTarget(snapshot, options.source);
    const destination = resolveTarget(snapshot, target);
    if (source.kind === "external" && options.externalProbeNetns === undefined)
      throw new TraceSourceError(
        `Cannot trace from ${source.ip}: it is outside the cluster, so no podnet agent can send from it (trace from a pod or a node; in the lab, "podnet lab trace external …" sends from the external host)`,
      );
    const plan = planTrace(snapshot, source, destination, proto ?? defaultTraceProto(destination), {
      sourcePort: randomSourcePort(),
      probeTimeoutMs: probeTimeoutFor(options.timeoutMs),
    });
    const netns = options.externalProbeNetns;
    const session = await runTraceSession(store, snapshot, plan, {
      timeoutMs: options.timeoutMs,
      probe: options.probe,
      ...(netns !== undefined && source.kind === "external"
        ? { sendProbe: externalProber(netns, selfCommand()) }
        : {}),
    });
    // A node whose answer the readers cannot take is left out and named, not fatal for the rest.
    const screened = screenFacts(snapshot, session.facts);
    const missing = [...session.missing, ...screened.missing];
    const prediction = predictTrace(snapshot, screened.facts, plan);
    const observation = options.probe ? observeTrace(plan, session.observations, session.probe) : undefined;
    const verdict = compareTrace(prediction, observation);
    const drift = findDrift(snapshot, screened.facts, missing);
    const report = buildTraceReport({
      plan,
      prediction,
      ...(observation !== undefined ? { observation } : {}),
      verdict,
      drift,
      missing,
      probed: options.probe,
    });
    io.out(options.json ? JSON.stringify(report, null, 2) : renderTraceReport(report));
    return 0;
  } finally {
    await store.close();
  }
}

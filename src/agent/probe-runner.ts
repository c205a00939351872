/**
 * Sending a trace's probe from this node (diagnosis-responder.ts): in the agent's own namespace
 * directly, or from a pod's recorded namespace through `nsenter --net=PATH podnet probe …`, the
 * path checked first; whatever fails comes back as a ProbeResult naming the pod and the path.
 */
import { errorText } from "../base/error-text.ts";
import type { ProbeResult, TraceSpec } from "../cluster/diagnosis-protocol.ts";
import { parseProbeResult } from "../cluster/diagnosis-records.ts";
import { run } from "../linux/exec.ts";
import { assertNetnsFile } from "../linux/netns.ts";
import { NodeState } from "../node-state/node-state.ts";
import { selfExecutable } from "../plugin/install.ts";
import { type NodeFactsContext, usableNetnsPath } from "./node-facts.ts";
import { runProbe } from "./trace-probe.ts";

/** The argv of `podnet probe` for `spec`, run inside `netns` with nsenter when given. */
export function probeArgv(exe: string, spec: TraceSpec, netns: string | undefined): string[] {
  const argv = [exe, "probe", "--to", spec.destination.ip, "--proto", spec.proto];
  if (spec.proto !== "icmp") {
    if (spec.destination.port !== undefined) argv.push("--port", String(spec.destination.port));
    if (spec.sourcePort !== undefined) argv.push("--sport", String(spec.sourcePort));
  }
  argv.push("--timeout-ms", String(spec.probeTimeoutMs));
  return netns === undefined ? argv : ["nsenter", `--net=${netns}`, ...argv];
}

export async function runProbeProcess(
  spec: TraceSpec,
  netns: string | undefined,
  pod?: string,
): Promise<ProbeResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  // The agent's own namespace needs no child process.
  if (netns === undefined)
    return runProbe({
      to: spec.destination.ip,
      proto: spec.proto,
      ...(spec.destination.port !== undefined ? { port: spec.destination.port } : {}),
      ...(spec.sourcePort !== undefined && spec.proto !== "icmp" ? { sport: spec.sourcePort } : {}),
      timeoutMs: spec.probeTimeoutMs,
    });
  try {
    const r = await run(probeArgv(selfExecutable(), spec, netns), { timeoutMs: spec.probeTimeoutMs + 5000 });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.code !== 0 || line === "") {
      const where = `in ${pod === undefined ? "" : `pod ${pod}'s `}network namespace ${netns}`;
      return {
        outcome: "error",
        ms: ms(),
        error: `podnet probe ${where} exited with ${r.code}: ${r.stderr.trim() || "(no output)"}`,
      };
    }
    return parseProbeResult("podnet probe output", line);
  } catch (e) {
    return { outcome: "error", ms: ms(), error: errorText(e) };
  }
}

/**
 * The pod's recorded network namespace, checked as node-facts checks it (an absolute path with
 * no "..", and a network namespace now) before it reaches nsenter; throws naming pod and path.
 */
export function podNetns(
  facts: Pick<NodeFactsContext, "stateDir" | "cniNetwork" | "nodeName">,
  namespace: string,
  name: string,
): string {
  const pod = `${namespace}/${name}`;
  const node = facts.nodeName;
  const state = NodeState.open(facts.stateDir);
  let recorded: string | undefined;
  try {
    const { rows } = state.listPods(facts.cniNetwork);
    const row = rows.find((r) => r.namespace === namespace && r.name === name);
    if (row === undefined) throw new Error(`pod ${pod} has no record on ${node}`);
    recorded = row.netns;
  } finally {
    state.close();
  }
  if (recorded === undefined) throw new Error(`pod ${pod} has no recorded network namespace on ${node}`);
  const path = usableNetnsPath(recorded);
  if (path === undefined)
    throw new Error(
      `pod ${pod}'s recorded network namespace ${JSON.stringify(recorded)} is not an absolute path`,
    );
  assertNetnsFile(path);
  return path;
}

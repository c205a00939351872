/** Probes with real packets: the echo client run inside a pod or node namespace. */
import { errorText } from "../base/error-text.ts";
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { ProbeOutcome } from "./claims.ts";
import { parseEchoProbe } from "./echo-reply.ts";
import type { LabFamily } from "./lab-families.ts";
import type { LabState } from "./lab-state.ts";
import { ECHO_PORT, labCli } from "./lab-state.ts";

const PROBE_TIMEOUT_MS = 3000;

/** A pod as the checks see it: where it lives and the address per family the kernel says it has. */
export interface PodView {
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  readonly ips: { readonly 4?: string; readonly 6?: string };
}

/** The pod's address of family f, if it has one. */
export function ipOf(view: PodView, f: LabFamily): string | undefined {
  return view.ips[f];
}

export interface ProbeOptions {
  /** Probe over UDP (one datagram, retried) instead of one TCP connection. */
  readonly udp?: boolean;
  /** UDP only: send from this local port, so repeated probes share one 5-tuple (and conntrack entry). */
  readonly localPort?: number;
  /** Defaults to the lab's echo port. */
  readonly port?: number;
}

/** Runs the echo client inside a namespace (a second process in a pod, or a node) against host. */
export async function probeFrom(
  state: LabState,
  netns: string,
  host: string,
  opts: ProbeOptions = {},
): Promise<ProbeOutcome> {
  const exe = labCli(state);
  const argv = [
    "lab",
    "echo-client",
    "--host",
    host,
    "--port",
    String(opts.port ?? ECHO_PORT),
    "--timeout",
    String(PROBE_TIMEOUT_MS),
    ...(opts.udp ? ["--udp"] : []),
    ...(opts.localPort !== undefined ? ["--local-port", String(opts.localPort)] : []),
  ];
  const r = await run(inNetns(netns, [exe, ...argv]), { timeoutMs: PROBE_TIMEOUT_MS + 5000 });
  if (r.code !== 0)
    return { kind: "error", message: (r.stderr.trim() || `exit ${r.code}`).replace(/^podnet: /, "") };
  try {
    return { kind: "reply", probe: parseEchoProbe(r.stdout.trim()) };
  } catch (e) {
    return {
      kind: "error",
      message: `echo client in ${netns}: ${errorText(e)}`,
    };
  }
}

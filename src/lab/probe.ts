/** Probes with real connections: the echo client run inside a pod or node namespace. */
import { run } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { ProbeOutcome } from "./claims.ts";
import type { EchoProbe } from "./echo-server.ts";
import type { LabState } from "./lab-state.ts";
import { ECHO_PORT } from "./lab-state.ts";

const PROBE_TIMEOUT_MS = 3000;

/** A pod as the checks see it: where it lives and the IPv4 address the kernel says it has. */
export interface PodView {
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  readonly ipv4: string | undefined;
}

/** Runs the echo client inside a namespace (a second process in a pod, or a node) against host:8080. */
export async function probeFrom(state: LabState, netns: string, host: string): Promise<ProbeOutcome> {
  const exe = `${state.binDir}/podnet`;
  const argv = [
    "lab",
    "echo-client",
    "--host",
    host,
    "--port",
    String(ECHO_PORT),
    "--timeout",
    String(PROBE_TIMEOUT_MS),
  ];
  const r = await run(inNetns(netns, [exe, ...argv]), { timeoutMs: PROBE_TIMEOUT_MS + 5000 });
  if (r.code !== 0)
    return { kind: "error", message: (r.stderr.trim() || `exit ${r.code}`).replace(/^podnet: /, "") };
  return { kind: "reply", probe: JSON.parse(r.stdout) as EchoProbe };
}

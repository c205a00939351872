/**
 * What the lab's external host (outside the cluster, on the underlay) runs: the same echo server
 * as the pods, and dnsmasq serving the zone outside the cluster that the agents forward to.
 */

import { pollUntil } from "../base/poll-until.ts";
import { spawnDetached } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import type { LabState } from "./lab-state.ts";
import { ECHO_PORT, externalAddresses, labCli } from "./lab-state.ts";
import { logTail } from "./log-tail.ts";
import { startUpstreamDns } from "./upstream-dns.ts";

/** The external host (outside the cluster, on the underlay) runs the same echo server. */
async function startExternalEcho(state: LabState): Promise<void> {
  const log = `${state.dir}/logs/external.log`;
  spawnDetached(
    inNetns(state.external.netns, [
      labCli(state),
      "lab",
      "echo-server",
      "--pod",
      "external",
      "--port",
      String(ECHO_PORT),
    ]),
    log,
  );
  await pollUntil(
    "the echo server of the external host to start",
    () => logTail(log).includes("listening"),
    10_000,
    {
      detail: () => logTail(log),
      intervalMs: 25,
    },
  );
}

/**
 * Starts both and returns the state with dnsmasq's pid, saved with `save` as soon as it is known
 * (so `lab down` after a failure later in `lab up` stops it).
 */
export async function startExternalHost(state: LabState, save: (s: LabState) => void): Promise<LabState> {
  await startExternalEcho(state);
  const dnsPid = await startUpstreamDns(
    state.external.netns,
    externalAddresses(state).map((a) => a.split("/")[0] as string),
    state.dir,
    `${state.dir}/logs/external-dns.log`,
  );
  const next = { ...state, external: { ...state.external, dnsPid } };
  save(next);
  return next;
}

/**
 * What `lab up --backend bgp` adds to a lab, as an operator peering a cluster with its routers
 * would do it: the cluster's peering config written to the datastore before any agent starts
 * (the lab's router on every node segment as the nodes' peer), the router's own BIRD started in
 * the router's namespace (dynamic neighbors per segment, lab-router-bird.ts), and the "VM" — a
 * host in the VPC outside the cluster — running the echo server, so `lab check` can prove that
 * traffic inside the VPC keeps the pods' and the VM's real addresses.
 */

import { pollUntil } from "../base/poll-until.ts";
import type { BgpConfig } from "../cluster/bgp-config.ts";
import { encodeBgpConfig, parseBgpConfig } from "../cluster/bgp-config.ts";
import { writeBgpConfig } from "../cluster/bgp-config-store.ts";
import { run, spawnDetached } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { openStore } from "../store/open-store.ts";
import { labNetnsPrefix } from "./lab-paths.ts";
import { labRouterSupervisorArgv, startLabRouter } from "./lab-router.ts";
import { labBgpConfig, labRouterBirdInput } from "./lab-router-bird.ts";
import type { LabState, LabVpcHost } from "./lab-state.ts";
import { ECHO_PORT, labCli } from "./lab-state.ts";
import { logTail } from "./log-tail.ts";
import type { Topology } from "./topology.ts";
import { hostAddresses } from "./topology.ts";

export class LabBgpError extends Error {
  override readonly name = "LabBgpError";
}

/**
 * The body of the internal `podnet lab write-bgp-config --datastore SPEC` (run inside a node's
 * namespace, where the lab's etcd is reachable): the config, as JSON on stdin, validated and
 * stored whatever the datastore held.
 */
export async function writeLabBgpConfigMain(datastore: string, json: string): Promise<BgpConfig> {
  const config = parseBgpConfig(json);
  const store = await openStore(datastore);
  try {
    return await writeBgpConfig(store, config);
  } finally {
    await store.close();
  }
}

/** Writes `config` to the lab's datastore from inside `netns` (the lab's own CLI, as an operator would). */
async function writeConfigFrom(state: LabState, netns: string, config: BgpConfig): Promise<void> {
  const argv = [labCli(state), "lab", "write-bgp-config", "--datastore", state.datastore];
  const r = await run(inNetns(netns, argv), { stdin: encodeBgpConfig(config), timeoutMs: 30_000 });
  if (r.code !== 0)
    throw new LabBgpError(
      `Cannot write the lab's BGP config to ${state.datastore}: ${r.stderr.trim() || `exit ${r.code}`}`,
    );
}

/**
 * Before the agents start: the peering config in the datastore (so every agent starts its BIRD
 * with it), then the router's BIRD. Returns the state with the router's pids; `save` records them
 * as soon as they are known (so `lab down` after a later failure stops it).
 */
export async function startLabBgp(
  state: LabState,
  topology: Topology,
  clusterCidrs: readonly string[],
  save: (s: LabState) => void,
): Promise<LabState> {
  const first = topology.nodes[0];
  if (!first) throw new LabBgpError("A lab with the bgp backend needs at least one node");
  const bgp = labBgpConfig(topology);
  await writeConfigFrom(state, `${labNetnsPrefix(state.id)}${first.name}`, bgp);
  const netns = `${labNetnsPrefix(state.id)}router`;
  const router = await startLabRouter({
    netns,
    labDir: state.dir,
    input: labRouterBirdInput(topology, bgp, clusterCidrs),
    supervisorArgv: labRouterSupervisorArgv(labCli(state), state.dir),
  });
  const next: LabState = {
    ...state,
    router: { netns, pids: { supervisor: router.supervisorPid, bird: router.birdPid }, ctl: router.ctlPath },
  };
  save(next);
  return next;
}

/** The VM as the lab state records it, before its echo server runs. */
export function vpcHostOf(state: Pick<LabState, "id">, topology: Topology): LabVpcHost | undefined {
  const vm = topology.vpcHost;
  if (!vm) return undefined;
  return {
    name: vm.name,
    netns: `${labNetnsPrefix(state.id)}${vm.name}`,
    addresses: hostAddresses(vm),
    segment: vm.segment,
  };
}

/** Starts the echo server on the VM (pods' requests to it show the source it sees); returns the state with its pid. */
export async function startVpcHostEcho(state: LabState, save: (s: LabState) => void): Promise<LabState> {
  const vm = state.vpcHost;
  if (!vm) return state;
  const log = `${state.dir}/logs/${vm.name}.log`;
  const echoPid = spawnDetached(
    inNetns(vm.netns, [labCli(state), "lab", "echo-server", "--pod", vm.name, "--port", String(ECHO_PORT)]),
    log,
  );
  const next: LabState = { ...state, vpcHost: { ...vm, echoPid } };
  save(next);
  await pollUntil(
    `the echo server of the VM (${vm.name}) to start`,
    () => logTail(log).includes("listening"),
    10_000,
    {
      detail: () => logTail(log),
      intervalMs: 25,
    },
  );
  return next;
}

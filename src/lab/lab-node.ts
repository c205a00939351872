/**
 * One node of the lab: its agent started in the node's namespace with the lab's address plan (a
 * cluster CIDR and a service CIDR per lab family), and what `lab up` records of it once the agent
 * has written its conflist and declared the node ready.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { pollUntil } from "../base/poll-until.ts";
import type { Backend } from "../cluster/node-record.ts";
import { parseConflist } from "../cni/conflist.ts";
import { spawnDetached } from "../linux/exec.ts";
import { inNetns } from "../linux/netns.ts";
import { agentCommandLine } from "./agent-command-line.ts";
import { LAB_CLUSTER_CIDRS, LAB_SERVICE_CIDRS, type LabFamily } from "./lab-families.ts";
import { nodeNetns } from "./lab-paths.ts";
import type { LabNode, LabState } from "./lab-state.ts";
import { logTail } from "./log-tail.ts";
import type { HostSpec, Topology } from "./topology.ts";
import { hostAddresses, segmentGateways } from "./topology.ts";

export const LAB_NETWORK = "podnet-lab";
export interface LabNodeOptions {
  readonly backend: Backend;
  readonly mode: "bridge" | "ptp";
  /** The lab's families, primary first. */
  readonly families: readonly LabFamily[];
  /** One per family, in the lab's order; LAB_CLUSTER_CIDRS of the lab's families otherwise. */
  readonly clusterCidrs?: readonly string[];
  /** One per family, in the lab's order; LAB_SERVICE_CIDRS of the lab's families otherwise. */
  readonly serviceCidrs?: readonly string[];
  /** How often the agent resyncs; 5 s by default. */
  readonly resyncSeconds?: number;
}

const bareAddress = (cidr: string) => cidr.split("/")[0] as string;

/** The agent's command line for a lab node (pure). */
export function labAgentCommandLine(
  state: Pick<LabState, "datastore">,
  spec: HostSpec,
  topology: Pick<Topology, "external">,
  exe: string,
  dirs: { readonly confDir: string; readonly stateDir: string },
  o: LabNodeOptions,
): string[] {
  return agentCommandLine({
    exe,
    nodeName: spec.name,
    datastore: state.datastore,
    backend: o.backend,
    uplink: "eth0",
    clusterCidrs: o.clusterCidrs ?? o.families.map((f) => LAB_CLUSTER_CIDRS[f]),
    serviceCidrs: o.serviceCidrs ?? o.families.map((f) => LAB_SERVICE_CIDRS[f]),
    cniConfDir: dirs.confDir,
    cniMode: o.mode,
    network: LAB_NETWORK,
    stateDir: dirs.stateDir,
    leaseTtlSeconds: 15,
    blockGraceSeconds: 60,
    resyncSeconds: o.resyncSeconds ?? 5,
    metricsAddr: "127.0.0.1:9464",
    // No --dns-address: the agent's default follows the cluster CIDRs (169.254.20.10, or fd00::10
    // when no pod has IPv4, which could not reach 169.254.20.10); cluster-file-ranges.ts keeps a
    // file's ranges clear of it.
    // Names outside the cluster domain go to the external host's dnsmasq (the lab's "internet"),
    // on each of its addresses: forwarding works over every family the lab runs.
    dnsUpstreams: hostAddresses(topology.external).map(bareAddress),
  });
}

/** Starts the node's agent and waits until it has written its conflist and declared the node ready. */
export async function startLabNode(
  state: LabState,
  spec: HostSpec,
  topology: Topology,
  exe: string,
  options: LabNodeOptions,
): Promise<LabNode> {
  const netns = nodeNetns(state.id, spec.name);
  const base = `${state.dir}/${spec.name}`;
  const confDir = `${base}/net.d`;
  const stateDir = `${base}/state`;
  mkdirSync(confDir, { recursive: true });
  const log = `${state.dir}/logs/agent-${spec.name}.log`;
  const argv = labAgentCommandLine(state, spec, topology, exe, { confDir, stateDir }, options);
  const agentPid = spawnDetached(inNetns(netns, argv), log);
  await pollUntil(
    `the agent of ${spec.name} to get ready`,
    () => existsSync(`${stateDir}/ready`) && readdirSync(confDir).some((f) => f.endsWith(".conflist")),
    20_000,
    { detail: () => logTail(log), intervalMs: 25 },
  );
  const file = readdirSync(confDir).find((f) => f.endsWith(".conflist")) as string;
  const conflist = parseConflist(readFileSync(`${confDir}/${file}`, "utf8"));
  const ipam = conflist.plugins[0]?.ipam as { ranges?: { subnet: string }[][] } | undefined;
  const podCidrs = (ipam?.ranges ?? []).map((set) => set[0]?.subnet ?? "").filter((s) => s !== "");
  const seg = topology.segments.find((s) => s.name === spec.segment);
  return {
    name: spec.name,
    netns,
    address: spec.address,
    segment: spec.segment,
    gateway: seg?.gateway ?? "",
    addresses: hostAddresses(spec),
    gateways: seg ? segmentGateways(seg) : [],
    podCidrs,
    conflist,
    agentPid,
    stateDir,
  };
}

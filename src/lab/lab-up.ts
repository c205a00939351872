/**
 * Builds the lab cluster: an underlay of namespaces (segments, router, external host), a node
 * agent per node namespace sharing one datastore, and pods attached on every node by executing
 * the compiled plugin with the conflist the node's agent wrote — exactly as a runtime does. With
 * the bgp backend the peering config is written and the router's BIRD started before the agents,
 * a VM joins a node segment, and the lab is up once the router routes every node's blocks
 * (lab-bgp-setup.ts).
 */

import { mkdirSync, writeFileSync } from "node:fs";
import type { Backend } from "../cluster/node-record.ts";
import { ipFamilyName } from "../k8s/service-model.ts";
import type { HeldLock } from "../linux/file-lock.ts";
import { createNetns, deleteNetns, netnsExists, randomSuffix } from "../linux/netns.ts";
import { copyExecutable, installPlugins, selfExecutable } from "../plugin/install.ts";
import { waitRouterConverged } from "./bgp-check.ts";
import { CniRuntime } from "./cni-runtime.ts";
import { startEchoServer } from "./echo-process.ts";
import { startExternalHost } from "./external-host.ts";
import { startLabBgp, startVpcHostEcho, vpcHostOf } from "./lab-bgp-setup.ts";
import { removeLab } from "./lab-down.ts";
import { startLabEtcd } from "./lab-etcd.ts";
import { familiesOf, type IpFamilyFlag, LAB_CLUSTER_CIDRS, type LabFamily } from "./lab-families.ts";
import { startLabNode } from "./lab-node.ts";
import { CREATED_ETC_NETNS_FILE, LAB_MARKER, labDir, labNetnsPrefix, podNetns } from "./lab-paths.ts";
import { LAB_READINESS, type ReadinessDeclaration } from "./lab-readiness.ts";
import { waitPodsReady } from "./lab-ready.ts";
import { createLabServices } from "./lab-services.ts";
import type { LabNode, LabPod, LabState } from "./lab-state.ts";
import { labCli, loadLabState, saveLabState } from "./lab-state.ts";
import { withLabStateLock } from "./lab-state-lock.ts";
import { removePodResolvConf, writePodResolvConf } from "./pod-resolv-conf.ts";
import { podDnsOf } from "./resolv-conf.ts";
import type { HostSpec, Topology } from "./topology.ts";
import { defaultTopology, hostAddresses, withVpcHost } from "./topology.ts";
import { buildUnderlay, topologyFamilies, underlayHosts } from "./underlay.ts";

export interface LabOptions {
  readonly nodes: number;
  readonly podsPerNode: number;
  readonly backend: Backend;
  readonly mode: "bridge" | "ptp";
  readonly datastore: "sqlite" | "etcd";
  /** The lab's address families (--ip-family): ipv4 by default; dual has IPv4 primary. */
  readonly ipFamily?: IpFamilyFlag;
  /** A custom layout (from a cluster file, of the same families); the default topology of `nodes` nodes otherwise. */
  readonly topology?: Topology;
  /** One per family, in the lab's order (lab-node.ts has the defaults). */
  readonly clusterCidrs?: readonly string[];
  readonly serviceCidrs?: readonly string[];
  /** How often the agents resync (repairing drift in routes, FDB, rules); 5 s by default. */
  readonly resyncSeconds?: number;
}

/** The label every lab pod carries (its agent publishes it with the pod's record). */
export const LAB_POD_LABEL = { key: "app", value: "echo" } as const;
const REFERENCE_PLUGIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

export class LabAlreadyUpError extends Error {
  override readonly name = "LabAlreadyUpError";
}

export class LabLayoutError extends Error {
  override readonly name = "LabLayoutError";
}

/**
 * The lab's families (primary first) and its layout (pure): the cluster file's, which must carry
 * exactly those families, or the default topology of `nodes` nodes in them; with the bgp backend
 * plus the VM (withVpcHost: on the segment of the first node not on node1's, else node1's).
 */
export function labLayout(
  options: Pick<LabOptions, "nodes" | "ipFamily" | "topology"> & { readonly backend?: Backend },
): {
  families: LabFamily[];
  topology: Topology;
} {
  const flag = options.ipFamily ?? "ipv4";
  const families = familiesOf(flag);
  // A lab that peers with its router over BGP gets the VM, a host in the VPC outside the cluster.
  const vpcHost = options.backend === "bgp";
  const layout = options.topology ?? defaultTopology(options.nodes, families);
  let topology = layout;
  if (vpcHost && !layout.vpcHost) {
    try {
      topology = withVpcHost(layout);
    } catch (e) {
      throw new LabLayoutError(`The lab's layout has no room for the VM: ${(e as Error).message}`);
    }
  }
  const carried = topologyFamilies(topology);
  if (carried.join() !== [...families].sort().join())
    throw new LabLayoutError(
      `The lab's layout carries ${carried.map(ipFamilyName).join(" and ")}, not the ${families.map(ipFamilyName).join(" and ")} of --ip-family ${flag}`,
    );
  return { families, topology };
}

function podName(node: string, index: number): string {
  return `${node}-${String.fromCharCode(97 + index)}`;
}

/**
 * Attaches a pod on `node` as a runtime does (CNI ADD with the node's conflist, the pod's name and
 * namespace in CNI_ARGS, its labels in args.cni.labels and its readiness check — the lab's TCP
 * check on the echo server unless told otherwise — in args.podnet.readiness), gives it the
 * resolv.conf of the result's `dns`, and starts the echo server in it. A failure leaves things for detachPod (or
 * `lab down`) to remove.
 */
export async function attachPod(
  state: LabState,
  node: LabNode,
  name: string,
  labels: Readonly<Record<string, string>>,
  namespace = "default",
  readiness: ReadinessDeclaration | null = LAB_READINESS,
): Promise<LabPod> {
  const netns = podNetns(state.id, name);
  const netnsPath = createNetns(netns);
  const containerId = `lab-${state.id}-${name}`;
  const runtime = new CniRuntime(node.conflist, { binDirs: state.cniPath, nodeNetns: node.netns });
  const result = await runtime.add({
    containerId,
    ifname: "eth0",
    netnsPath,
    args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: namespace, K8S_POD_NAME: name },
    labels,
    ...(readiness === null ? {} : { readiness }),
  });
  const dns = podDnsOf(result);
  if (dns && writePodResolvConf(netns, dns).createdBase)
    writeFileSync(`${state.dir}/${CREATED_ETC_NETNS_FILE}`, "");
  const echoPid = await startEchoServer(state, name, netns);
  return {
    name,
    node: node.name,
    netns,
    netnsPath,
    containerId,
    ifname: "eth0",
    result,
    echoPid,
    readiness,
    ...(namespace === "default" ? {} : { namespace }),
  };
}

/**
 * Removes a pod as a runtime does: CNI DEL, then its namespace (its echo server dies with it) and
 * its resolv.conf.
 */
export async function detachPod(state: LabState, pod: LabPod): Promise<void> {
  const node = state.nodes.find((n) => n.name === pod.node);
  if (node) {
    const runtime = new CniRuntime(node.conflist, { binDirs: state.cniPath, nodeNetns: node.netns });
    await runtime.del(
      { containerId: pod.containerId, ifname: pod.ifname, netnsPath: pod.netnsPath },
      pod.result,
    );
  }
  deleteNetns(pod.netns);
  removePodResolvConf(pod.netns);
}

/**
 * Builds a lab and records it in the lab's state, holding the state's lock throughout: a second
 * `lab up`, or a `lab pod add` meanwhile, waits for this one (and then finds it up).
 */
export async function labUp(options: LabOptions): Promise<LabState> {
  return await withLabStateLock("lab up", async (lock) => await buildLab(options, lock), { create: true });
}

async function buildLab(options: LabOptions, lock: HeldLock | undefined): Promise<LabState> {
  const { families, topology } = labLayout(options);
  const existing = loadLabState();
  if (existing) {
    if (existing.nodes.some((n) => netnsExists(n.netns))) {
      throw new LabAlreadyUpError(`A lab is already up (id ${existing.id}): run "podnet lab down" first`);
    }
    await removeLab(); // leftovers of a lab whose namespaces are gone (e.g. after a reboot of /run)
  }
  const id = randomSuffix(6);
  const dir = labDir(id);
  // The directory is created before any namespace, so a crash at any later point leaves a
  // trace that `lab down` follows.
  mkdirSync(`${dir}/logs`, { recursive: true, mode: 0o700 });
  // `lab down` removes only directories carrying this marker, whatever PODNET_LAB_ROOT points at.
  writeFileSync(`${dir}/${LAB_MARKER}`, `${id}\n`);
  const binDir = `${dir}/bin`;
  const prefix = labNetnsPrefix(id);
  let state: LabState = {
    id,
    dir,
    binDir,
    cniPath: [binDir, ...REFERENCE_PLUGIN_DIRS],
    createdAt: new Date().toISOString(),
    backend: options.backend,
    datastore: `sqlite:${dir}/cluster.db`,
    external: {
      netns: `${prefix}external`,
      address: topology.external.address,
      addresses: hostAddresses(topology.external),
    },
    ipFamilies: families.map(ipFamilyName),
    nodes: [],
    pods: [],
  };
  const vm = vpcHostOf(state, topology);
  if (vm) state = { ...state, vpcHost: vm };
  try {
    installPlugins(binDir);
    const exe = labCli(state);
    copyExecutable(selfExecutable(), exe);
    saveLabState(state);
    buildUnderlay(
      topology,
      {
        switchNetns: (s) => `${prefix}sw-${s}`,
        routerNetns: `${prefix}router`,
        hostNetns: (h) => `${prefix}${h}`,
      },
      underlayHosts(topology, { datastore: options.datastore === "etcd" }),
    );
    if (options.datastore === "etcd") {
      const etcd = await startLabEtcd(
        `${prefix}datastore`,
        topology.datastore.address,
        `${dir}/etcd`,
        `${dir}/logs/etcd.log`,
      );
      state = { ...state, datastore: etcd.spec };
      saveLabState(state);
    }
    // The peering config is in the datastore and the router listens before the first agent
    // starts: every agent brings its BIRD up with its first blocks.
    if (options.backend === "bgp")
      state = await startLabBgp(
        state,
        topology,
        options.clusterCidrs ?? families.map((f) => LAB_CLUSTER_CIDRS[f]),
        saveLabState,
      );
    // Agents start together, as nodes of a real cluster boot: they race for blocks in the datastore.
    const nodes = await Promise.all(
      topology.nodes.map((_, i) =>
        startLabNode(state, topology.nodes[i] as HostSpec, topology, exe, {
          backend: options.backend,
          mode: options.mode,
          families,
          ...(options.clusterCidrs ? { clusterCidrs: options.clusterCidrs } : {}),
          ...(options.serviceCidrs ? { serviceCidrs: options.serviceCidrs } : {}),
          ...(options.resyncSeconds ? { resyncSeconds: options.resyncSeconds } : {}),
        }),
      ),
    );
    state.nodes.push(...nodes);
    saveLabState(state);
    // Ready means BGP has converged: the router routes every node's blocks.
    if (state.router) await waitRouterConverged(state);
    for (const node of state.nodes) {
      for (let i = 0; i < options.podsPerNode; i++) {
        // Every lab pod runs the echo server: `app` selects them all as endpoints of the demo
        // Service, `pod` selects one (lab check's own Services use it).
        const name = podName(node.name, i);
        state.pods.push(
          await attachPod(state, node, name, { [LAB_POD_LABEL.key]: LAB_POD_LABEL.value, pod: name }),
        );
        saveLabState(state);
      }
    }
    state = await startExternalHost(state, saveLabState);
    state = await startVpcHostEcho(state, saveLabState);
    await createLabServices(state);
    // Pods are endpoints once their first check succeeds (~1 s): `lab check` starts from a ready cluster.
    await waitPodsReady(
      state,
      state.pods.filter((p) => p.readiness),
    );
    return state;
  } catch (e) {
    saveLabState(state);
    await removeLab(lock);
    throw e;
  }
}

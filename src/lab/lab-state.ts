/**
 * What a running lab consists of, kept in /run (cleared on reboot, like the namespaces it
 * describes) so `status`, `check`, `exec` and `down` work from any later invocation.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { IPFamily } from "../k8s/service-model.ts";
import type { Conflist } from "./cni-runtime.ts";

/**
 * Where labs keep their state; PODNET_LAB_ROOT overrides it so the test suite's labs never meet
 * one a person has running. Read when needed, so a bad value only stops the lab commands.
 */
export function labRoot(): string {
  const root = (process.env.PODNET_LAB_ROOT ?? "/run/podnet-lab").replace(/\/+$/, "");
  if (!root.startsWith("/") || root.split("/").includes("..")) {
    throw new Error(
      `PODNET_LAB_ROOT "${process.env.PODNET_LAB_ROOT}" must be an absolute path other than "/" without ".."`,
    );
  }
  return root;
}

export function labStateFile(): string {
  return `${labRoot()}/state.json`;
}

/** Every namespace the lab creates starts with this; `lab down` removes all of them. */
export const LAB_NETNS_PREFIX = "pnlab-";
export const ECHO_PORT = 8080;

export interface LabNode {
  readonly name: string;
  readonly netns: string;
  /** Underlay address with prefix length (e.g. 192.0.2.11/24) and its segment. */
  readonly address: string;
  readonly segment: string;
  /** The router's address on the node's segment (its default gateway). */
  readonly gateway: string;
  /**
   * Every underlay address of the node, one per lab family, primary first (`address` is [0]);
   * absent in a state written before labs had families.
   */
  readonly addresses?: readonly string[];
  /** The router's address per family on the node's segment, in the order of `addresses`. */
  readonly gateways?: readonly string[];
  /** The blocks the node's agent leased (from the conflist it wrote). */
  readonly podCidrs: readonly string[];
  readonly conflist: Conflist;
  readonly agentPid: number;
  readonly stateDir: string;
}

export interface LabPod {
  readonly name: string;
  readonly node: string;
  readonly netns: string;
  readonly netnsPath: string;
  readonly containerId: string;
  readonly ifname: string;
  /** The final ADD result, kept for DEL and CHECK as a runtime does. */
  readonly result: unknown;
  /** Of the echo server now running (lab check restarts it). */
  readonly echoPid: number;
  /**
   * The readiness check the pod declared (Kubernetes Probe shape); null: none; absent: a state
   * written before pods declared checks.
   */
  readonly readiness?: Readonly<Record<string, unknown>> | null;
  /** The pod's Kubernetes namespace (K8S_POD_NAMESPACE); absent: "default". */
  readonly namespace?: string;
}

export interface LabRouterState {
  readonly netns: string;
  readonly pids: { readonly supervisor: number; readonly bird: number };
  readonly ctl: string;
}

export interface LabVpcHost {
  readonly name: string;
  readonly netns: string;
  readonly addresses: readonly string[];
  readonly segment: string;
  readonly echoPid?: number;
}

export interface LabState {
  readonly id: string;
  readonly dir: string;
  readonly binDir: string;
  readonly cniPath: readonly string[];
  readonly createdAt: string;
  readonly backend: string;
  readonly datastore: string;
  /**
   * The namespace of the host outside the cluster, its address, and the pid of the dnsmasq
   * serving the lab's zone outside the cluster there (example.test; the agents' upstream).
   */
  readonly external: {
    readonly netns: string;
    readonly address: string;
    /** One per lab family, primary first (`address` is [0]); absent in older states. */
    readonly addresses?: readonly string[];
    readonly dnsPid?: number;
  };
  /** The lab's address families, primary first; absent: ["IPv4"] (a state from before). */
  readonly ipFamilies?: readonly IPFamily[];
  /**
   * The router's BIRD (backend bgp): its supervisor's and BIRD's pids and its control socket;
   * absent when the router runs no BIRD.
   */
  readonly router?: LabRouterState;
  /**
   * The host in the VPC outside the cluster (the "VM", backend bgp): its namespace, its addresses
   * (with prefix length, primary first) and the pid of its echo server.
   */
  readonly vpcHost?: LabVpcHost;
  readonly nodes: LabNode[];
  readonly pods: LabPod[];
}

/**
 * The lab's own copy of the podnet CLI (agents, echo servers, probes run it): the plugins in
 * binDir are the lean plugin executable, and dist/podnet may be rebuilt while the lab is up.
 */
export function labCli(state: Pick<LabState, "dir">): string {
  return `${state.dir}/podnet`;
}

export class NoLabError extends Error {
  override readonly name = "NoLabError";
  constructor() {
    super('No lab is up (run "podnet lab up" first)');
  }
}

export function loadLabState(): LabState | undefined {
  const file = labStateFile();
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as LabState;
}

export function requireLabState(): LabState {
  const state = loadLabState();
  if (!state) throw new NoLabError();
  return state;
}

export function saveLabState(state: LabState): void {
  mkdirSync(labRoot(), { recursive: true, mode: 0o700 });
  const file = labStateFile();
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2));
  renameSync(tmp, file);
}

/**
 * The namespace of a pod, a node, "external" (the host outside the cluster), "vm" (the host in
 * the VPC, when the lab has one) or "router" (the segments' router).
 */
export function findNetns(state: LabState, name: string): string {
  if (name === "external") return state.external.netns;
  if (state.vpcHost && name === state.vpcHost.name) return state.vpcHost.netns;
  if (name === "router") return state.router?.netns ?? `${LAB_NETNS_PREFIX}${state.id}-router`;
  const node = state.nodes.find((n) => n.name === name);
  if (node) return node.netns;
  return findPod(state, name).netns;
}

export function findPod(state: LabState, name: string): LabPod {
  const pod = state.pods.find((p) => p.name === name);
  if (!pod)
    throw new Error(`No pod "${name}" in the lab (pods: ${state.pods.map((p) => p.name).join(", ")})`);
  return pod;
}

/** Every underlay address of a node (with prefix length), primary first. */
export function nodeAddresses(node: Pick<LabNode, "address" | "addresses">): readonly string[] {
  return node.addresses ?? [node.address];
}

/** The external host's addresses (with prefix length), primary first. */
export function externalAddresses(state: Pick<LabState, "external">): readonly string[] {
  return state.external.addresses ?? [state.external.address];
}

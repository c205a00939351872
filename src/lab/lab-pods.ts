/**
 * `podnet lab pod add|delete`: a pod more or less on a running lab, attached and detached exactly
 * as `lab up` attaches its pods (a CNI ADD/DEL with the node's conflist, the echo server inside),
 * and recorded in the lab state so status, check, exec and down know it.
 */
import { deleteNetns, netnsExists, netnsPath } from "../linux/netns.ts";
import { podNetns } from "./lab-paths.ts";
import { checksEchoServer, parseReadinessFlag } from "./lab-readiness.ts";
import { waitPodsReady } from "./lab-ready.ts";
import type { LabNode, LabPod, LabState } from "./lab-state.ts";
import { findPod, saveLabState } from "./lab-state.ts";
import { updateLabState } from "./lab-state-lock.ts";
import { attachPod, detachPod, LAB_POD_LABEL } from "./lab-up.ts";
import { removePodResolvConf } from "./pod-resolv-conf.ts";
import { VPC_HOST_NAME } from "./topology.ts";

export class LabPodError extends Error {
  override readonly name = "LabPodError";
}

/** A DNS label (as a Kubernetes pod name), short enough to be a namespace name with the lab's prefix. */
const POD_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
/** Label keys and values as Kubernetes allows them (the key without a prefix). */
const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
/** Names the lab already uses for namespaces of its own. */
const RESERVED = new Set(["external", "router", "datastore", VPC_HOST_NAME]);

/** Checks a new pod's name against the rules and the lab's names (pure). */
export function validatePodName(state: Pick<LabState, "nodes" | "pods">, name: string): string {
  if (!POD_NAME.test(name))
    throw new LabPodError(
      `pod name "${name}" must be 1 to 32 lowercase letters, digits and "-", starting and ending with a letter or digit`,
    );
  if (RESERVED.has(name) || name.startsWith("sw-"))
    throw new LabPodError(`pod name "${name}" is reserved for the lab's own namespaces`);
  if (state.nodes.some((n) => n.name === name)) throw new LabPodError(`pod name "${name}" is a node's name`);
  if (state.pods.some((p) => p.name === name)) throw new LabPodError(`pod "${name}" already exists`);
  return name;
}

/**
 * `k=v,k2=v2` → labels (pure). Every pod also gets `pod=NAME` (as lab up's pods); without
 * --labels it gets `app=echo` too, so it joins the demo Service like the others.
 */
export function podLabels(name: string, text: string | undefined): Record<string, string> {
  const labels: Record<string, string> =
    text === undefined ? { [LAB_POD_LABEL.key]: LAB_POD_LABEL.value } : {};
  if (text !== undefined) {
    for (const pair of text.split(",")) {
      const eq = pair.indexOf("=");
      const key = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? undefined : pair.slice(eq + 1);
      if (value === undefined || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value))
        throw new LabPodError(`--labels "${text}": "${pair}" is not KEY=VALUE with a valid key and value`);
      if (key === "pod")
        throw new LabPodError(`--labels "${text}": the label "pod" is the pod's name, set by the lab`);
      labels[key] = value;
    }
  }
  labels.pod = name;
  return labels;
}

/**
 * Undoes what a failed attachPod may have done: a CNI DEL (which frees the address if the ADD got
 * that far; without a previous result, as runtimes do after a failed ADD) and the pod's namespace
 * (its echo server dies with it). Errors are ignored: this is cleanup after another error.
 */
export async function undoAttach(state: LabState, node: LabNode, name: string): Promise<void> {
  const netns = podNetns(state.id, name);
  const pod: LabPod = {
    name,
    node: node.name,
    netns,
    netnsPath: netnsPath(netns),
    containerId: `lab-${state.id}-${name}`,
    ifname: "eth0",
    result: undefined,
    echoPid: 0,
  };
  try {
    await detachPod(state, pod);
  } catch {
    try {
      deleteNetns(netns);
      removePodResolvConf(netns);
    } catch {}
  }
}

/** The steps of addLabPod (replaced in tests). */
export interface AddPodSteps {
  readonly attach: typeof attachPod;
  readonly undo: typeof undoAttach;
  /** Waits until the pods' records are ready (none: no wait). */
  readonly waitReady?: (state: LabState, pods: readonly LabPod[]) => Promise<unknown>;
}

/** `lab pod add`'s options, as typed (validated here). */
export interface AddPodFlags {
  /** `k=v,k2=v2`; absent: app=echo. */
  readonly labels?: string;
  /** `tcp:PORT`, `http:PORT/PATH` or `none`; absent: the lab's TCP check on the echo server. */
  readonly readiness?: string;
}

const ADD_POD_STEPS: AddPodSteps = { attach: attachPod, undo: undoAttach, waitReady: waitPodsReady };

/** A name as it may be shown to another command waiting for the lock (not yet validated). */
const shown = (name: string) => (/^[A-Za-z0-9._-]{1,64}$/.test(name) ? name : "(invalid name)");

/**
 * Attaches pod NAME on NODE and records it in the lab's state; returns the pod. A failed attach
 * is undone. Holds the state's lock from reading the state to saving it, so a pod another
 * `lab pod add` records meanwhile is neither lost nor given the same name.
 */
export async function addLabPod(
  nodeName: string,
  name: string,
  flags: AddPodFlags = {},
  steps: AddPodSteps = ADD_POD_STEPS,
): Promise<LabPod> {
  const readiness = parseReadinessFlag(flags.readiness);
  const added = await updateLabState(`lab pod add ${shown(nodeName)} ${shown(name)}`, async (state) => {
    const node = state.nodes.find((n) => n.name === nodeName);
    if (!node)
      throw new LabPodError(
        `no node "${nodeName}" in the lab (nodes: ${state.nodes.map((n) => n.name).join(", ")})`,
      );
    validatePodName(state, name);
    const labels = podLabels(name, flags.labels);
    if (netnsExists(podNetns(state.id, name)))
      throw new LabPodError(`pod name "${name}": the namespace ${podNetns(state.id, name)} already exists`);
    let pod: LabPod;
    try {
      pod = await steps.attach(state, node, name, labels, "default", readiness);
    } catch (e) {
      await steps.undo(state, node, name);
      throw e;
    }
    state.pods.push(pod);
    saveLabState(state);
    return { pod, state, labels };
  });
  // A pod of the demo Service checked on its echo server becomes an endpoint on its first
  // success (~1 s): return then, as lab up does. Other checks may never succeed (the echo server
  // speaks no HTTP), which is for the user to watch in `lab status` and `service show`.
  const inDemoService = added.labels[LAB_POD_LABEL.key] === LAB_POD_LABEL.value;
  if (steps.waitReady && checksEchoServer(readiness) && inDemoService)
    await steps.waitReady(added.state, [added.pod]);
  return added.pod;
}

/** Detaches pod NAME (CNI DEL, its namespace removed) and forgets it, under the state's lock. */
export async function deleteLabPod(name: string): Promise<LabPod> {
  return await updateLabState(`lab pod delete ${shown(name)}`, async (state) => {
    const pod = findPod(state, name);
    await detachPod(state, pod);
    state.pods.splice(state.pods.indexOf(pod), 1);
    saveLabState(state);
    return pod;
  });
}

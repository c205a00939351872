/**
 * What the attachments of a test node left behind, read from the kernel and from the node state
 * (through NodeState, the interface the agent reads too): the leak checks of the kill test, as
 * data, so a failure lists every leftover by name.
 */
import { run } from "../../../src/linux/exec.ts";
import { NodeState } from "../../../src/node-state/node-state.ts";
import { hostVethName } from "../../../src/plugin/naming.ts";
import { linksIn, podnetVeths, routesIn } from "./kernel-state.ts";
import type { TestNode, TestPod } from "./test-node.ts";

export function withNodeState<T>(dataDir: string, fn: (state: NodeState) => T): T {
  const state = NodeState.open(dataDir);
  try {
    return fn(state);
  } finally {
    state.close();
  }
}

export interface LeftoverScope {
  readonly network: string;
  readonly dataDir: string;
  /** The bridge of a bridge-mode network, whose ports are checked. */
  readonly bridge?: string | undefined;
  /** Host routes whose destination matches are pod routes (ptp mode routes each pod's address). */
  readonly podRoute: RegExp;
}

/**
 * Everything of the node's pods still there: host veths, interfaces other than lo inside the pods,
 * bridge ports, pod routes on the node, allocations and pod rows of the network. Empty when clean.
 */
export function attachmentLeftovers(n: TestNode, scope: LeftoverScope): string[] {
  const left: string[] = [];
  for (const l of podnetVeths(n.netns)) left.push(`host veth ${l.ifname} (${l.ifalias ?? "no alias"})`);
  for (const pod of n.pods) {
    for (const l of linksIn(pod.netns)) if (l.ifname !== "lo") left.push(`${l.ifname} in pod ${pod.name}`);
  }
  if (scope.bridge !== undefined) {
    for (const l of linksIn(n.netns))
      if (l.master === scope.bridge) left.push(`port ${l.ifname} of ${scope.bridge}`);
  }
  for (const r of [...routesIn(n.netns, 4), ...routesIn(n.netns, 6)]) {
    if (scope.podRoute.test(r.dst)) left.push(`route to ${r.dst} via ${r.dev ?? "?"}`);
  }
  withNodeState(scope.dataDir, (state) => {
    for (const a of state.list(scope.network))
      left.push(`allocation of ${a.ip.family === 4 ? "" : "v6 "}address to ${a.containerId}/${a.ifname}`);
    const pods = state.listPods(scope.network);
    for (const row of pods.rows) left.push(`pod row of ${row.containerId}/${row.ifname} (${row.name})`);
    left.push(...pods.problems);
  });
  return left;
}

/** The global addresses of `dev` in `ns`, or undefined when it does not exist (async: kills are in flight). */
async function addressesOf(ns: string, dev: string): Promise<unknown[] | undefined> {
  const r = await run(["ip", "-n", ns, "-j", "addr", "show", "dev", dev]);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/.test(r.stderr)) return undefined;
    throw new Error(`ip addr show ${dev} in ${ns} failed: ${r.stderr}`);
  }
  const [link] = JSON.parse(r.stdout) as { addr_info?: { scope?: string }[] }[];
  return (link?.addr_info ?? []).filter((a) => a.scope === "global");
}

/** How far a killed ADD had come, read from what it left (before the DEL cleans it up). */
export async function killedAt(n: TestNode, scope: LeftoverScope, pod: TestPod): Promise<string> {
  const key = { network: scope.network, containerId: pod.containerId, ifname: pod.ifname };
  const held = withNodeState(scope.dataDir, (s) => s.find(key).length > 0);
  const veth = (await addressesOf(n.netns, hostVethName(key))) !== undefined;
  const inPod = await addressesOf(pod.netns, pod.ifname);
  if (!held && !veth && inPod === undefined) return "killed before allocating";
  if (held && !veth && inPod === undefined) return "killed after allocating, before the veth";
  if (held && veth && inPod?.length === 0) return "killed after the veth, before configuring it";
  if (held && veth && inPod !== undefined) return "killed after configuring, before answering";
  return `killed leaving allocation=${held} host veth=${veth} pod interface=${inPod !== undefined}`;
}

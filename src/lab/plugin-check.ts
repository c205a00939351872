/**
 * The claim "the CNI plugin's CHECK confirms every pod" of `podnet lab check`: CNI CHECK for
 * each pod, run as a runtime does, with the conflist of the pod's node and the ADD result.
 */
import type { Verdict } from "./claims.ts";
import { CniRuntime } from "./cni-runtime.ts";
import type { LabNode, LabPod, LabState } from "./lab-state.ts";

/** CHECK of one pod on its node; rejects with the plugin's error. */
export type PodCheck = (state: LabState, node: LabNode, pod: LabPod) => Promise<void>;

async function checkWithPlugin(state: LabState, node: LabNode, pod: LabPod): Promise<void> {
  const runtime = new CniRuntime(node.conflist, { binDirs: state.cniPath, nodeNetns: node.netns });
  await runtime.check(
    { containerId: pod.containerId, ifname: pod.ifname, netnsPath: pod.netnsPath },
    pod.result,
  );
}

/** Holds only when CHECK passed for every pod: a pod that could not be checked fails the claim. */
export async function pluginCheckAll(state: LabState, check: PodCheck = checkWithPlugin): Promise<Verdict> {
  const claim = "the CNI plugin's CHECK confirms every pod's interface, addresses and routes";
  const problems: string[] = [];
  for (const pod of state.pods) {
    const node = state.nodes.find((n) => n.name === pod.node);
    if (!node) {
      // Without its node there is no conflist to CHECK with: the claim is unproven for this pod.
      problems.push(`${pod.name}: its node ${pod.node} is not in the lab state`);
      continue;
    }
    try {
      await check(state, node, pod);
    } catch (e) {
      problems.push(`${pod.name}: ${(e as Error).message}`);
    }
  }
  return {
    ok: problems.length === 0,
    claim,
    evidence: problems.length ? problems.join("; ") : `CHECK passed for ${state.pods.length} pods`,
  };
}

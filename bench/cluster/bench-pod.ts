/** One pod for the throughput runs: a namespace attached by the real plugin with the conflist its node's agent wrote. */
import { CniRuntime } from "../../src/lab/cni-runtime.ts";
import type { BenchSandbox } from "../support/sandbox.ts";
import type { BenchAgent } from "./bench-agent.ts";

/** Creates `${tag}-${node}-pod`, ADDs it through CniRuntime, returns the pod's first address (without length). */
export async function attachBenchPod(
  sandbox: BenchSandbox,
  agent: BenchAgent,
  binDir: string,
  tag: string,
): Promise<string> {
  const node = agent.spec.node;
  const podNetns = sandbox.createNetns(`${tag}-${node}-pod`).path;
  const runtime = new CniRuntime(agent.conflist(), { binDirs: [binDir], nodeNetns: agent.spec.netns });
  const result = (await runtime.add({
    containerId: `pbc-${sandbox.id}-${tag}-${node}`,
    ifname: "eth0",
    netnsPath: podNetns,
    args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "bench", K8S_POD_NAME: `${node}-pod` },
  })) as { ips?: { address?: string }[] };
  const address = result.ips?.[0]?.address;
  if (!address) throw new Error(`the plugin gave the pod on ${node} no address`);
  return address.split("/")[0] as string;
}

/**
 * Builds the lab: a node namespace, pod namespaces attached by executing the compiled plugin
 * exactly as a container runtime does, and an echo server in every pod.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { renderConflist } from "../cni/conflist.ts";
import { spawnDetached } from "../linux/exec.ts";
import { createNetns, inNetns, netnsExists, randomSuffix } from "../linux/netns.ts";
import { installPlugins } from "../plugin/install.ts";
import type { Conflist } from "./cni-runtime.ts";
import { CniRuntime } from "./cni-runtime.ts";
import { labDown } from "./lab-down.ts";
import { labDir, nodeNetns, podNetns } from "./lab-paths.ts";
import type { LabNode, LabPod, LabState } from "./lab-state.ts";
import { ECHO_PORT, loadLabState, saveLabState } from "./lab-state.ts";

export interface LabOptions {
  readonly podsPerNode: number;
  readonly mode: "bridge" | "ptp";
}

export const LAB_NETWORK = "podnet-lab";
const NODES = [{ name: "node1", podCidr: "10.244.1.0/24" }] as const;
const REFERENCE_PLUGIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

export class LabAlreadyUpError extends Error {
  override readonly name = "LabAlreadyUpError";
}

function podName(node: string, index: number): string {
  return `${node}-${String.fromCharCode(97 + index)}`;
}

async function waitForLog(path: string, needle: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path) && readFileSync(path, "utf8").includes(needle)) return;
    await Bun.sleep(20);
  }
  const log = existsSync(path) ? readFileSync(path, "utf8").trim() : "(no output)";
  throw new Error(`echo server did not start within ${timeoutMs} ms: ${log}`);
}

function writeConflist(dir: string, conflist: Conflist): void {
  // Where a runtime would read it (/etc/cni/net.d), but inside the lab's own directory.
  mkdirSync(`${dir}/net.d`, { recursive: true });
  writeFileSync(`${dir}/net.d/10-${conflist.name}.conflist`, `${JSON.stringify(conflist, null, 2)}\n`);
}

async function startPod(state: LabState, node: LabNode, index: number, exe: string): Promise<LabPod> {
  const name = podName(node.name, index);
  const netns = podNetns(state.id, name);
  const netnsPath = createNetns(netns);
  const containerId = `lab-${state.id}-${name}`;
  const runtime = new CniRuntime(node.conflist, { binDirs: state.cniPath, nodeNetns: node.netns });
  const result = await runtime.add({
    containerId,
    ifname: "eth0",
    netnsPath,
    args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "default", K8S_POD_NAME: name },
  });
  const log = `${state.dir}/logs/${name}.log`;
  const echoPid = spawnDetached(
    inNetns(netns, [exe, "lab", "echo-server", "--pod", name, "--port", String(ECHO_PORT)]),
    log,
  );
  await waitForLog(log, "listening", 10_000);
  return { name, node: node.name, netns, netnsPath, containerId, ifname: "eth0", result, echoPid };
}

export async function labUp(options: LabOptions): Promise<LabState> {
  const existing = loadLabState();
  if (existing) {
    if (existing.nodes.some((n) => netnsExists(n.netns))) {
      throw new LabAlreadyUpError(`A lab is already up (id ${existing.id}): run "podnet lab down" first`);
    }
    await labDown(); // leftovers of a lab whose namespaces are gone (e.g. after a reboot of /run)
  }
  const id = randomSuffix(6);
  const dir = labDir(id);
  // The directory is created before any namespace, so a crash at any later point leaves a
  // trace that `lab down` follows.
  mkdirSync(`${dir}/logs`, { recursive: true, mode: 0o700 });
  const binDir = `${dir}/bin`;
  const state: LabState = {
    id,
    dir,
    binDir,
    cniPath: [binDir, ...REFERENCE_PLUGIN_DIRS],
    createdAt: new Date().toISOString(),
    nodes: [],
    pods: [],
  };
  try {
    const [exe] = installPlugins(binDir);
    for (const spec of NODES) {
      const netns = nodeNetns(id, spec.name);
      createNetns(netns);
      const conflist = renderConflist({
        name: LAB_NETWORK,
        subnets: [spec.podCidr],
        mode: options.mode,
        dataDir: `${dir}/${spec.name}/state`,
      });
      writeConflist(`${dir}/${spec.name}`, conflist);
      const node: LabNode = { name: spec.name, netns, podCidrs: [spec.podCidr], conflist };
      state.nodes.push(node);
      saveLabState(state);
      for (let i = 0; i < options.podsPerNode; i++) {
        state.pods.push(await startPod(state, node, i, exe as string));
        saveLabState(state);
      }
    }
    return state;
  } catch (e) {
    saveLabState(state);
    await labDown();
    throw e;
  }
}

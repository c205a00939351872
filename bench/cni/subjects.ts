/**
 * The three things compared: podnet's plugin on its own (bridge mode, built-in podnet-ipam: how
 * podman on a host without an agent runs it), podnet with its node agent running (the conflist
 * the agent wrote; the plugin hands each operation to the warm agent: how a Kubernetes node runs
 * it), and the reference plugins (`bridge` + `host-local`) with an equivalent config: gateway on
 * the bridge, hairpin on, default route, state in the run's temporary directory. Each lives in
 * its own node namespace with its own bridge and is executed through CniRuntime, as a runtime would.
 */
import { mkdirSync } from "node:fs";
import type { AttachmentSpec, Conflist, JsonObject } from "../../src/lab/cni-runtime.ts";
import { CniRuntime } from "../../src/lab/cni-runtime.ts";
import { mustRunSync } from "../../src/linux/exec.ts";
import { deleteNetns } from "../../src/linux/netns.ts";
import type { BenchSandbox } from "../support/sandbox.ts";

export type SubjectKey = "podnet" | "agent" | "reference";
export const SUBJECTS: readonly SubjectKey[] = ["podnet", "agent", "reference"];
/** The subjects that are podnet: every ratio is one of them over the reference. */
export type PodnetKey = Exclude<SubjectKey, "reference">;
export const PODNET_SUBJECTS: readonly PodnetKey[] = ["podnet", "agent"];

/** Labels in tables and messages. */
export const LABELS: Readonly<Record<SubjectKey, string>> = {
  podnet: "podnet",
  agent: "podnet+agent",
  reference: "reference",
};

export const CNI_VERSION = "1.0.0";

export interface Pod {
  readonly netns: string;
  readonly attachment: AttachmentSpec;
}

export type OpOutcome =
  | { readonly ok: true; readonly ms: number; readonly output: unknown }
  | { readonly ok: false; readonly ms: number; readonly error: string };

export interface SubjectSpec {
  readonly key: SubjectKey;
  readonly label: string;
  readonly subnet: string;
  readonly bridge: string;
  readonly binDir: string;
  readonly conflist: Conflist;
}

export class Subject {
  readonly runtime: CniRuntime;
  private readonly plugin: JsonObject;
  private podCount = 0;

  constructor(
    readonly spec: SubjectSpec,
    readonly nodeNetns: string,
    private readonly sandbox: BenchSandbox,
  ) {
    this.runtime = new CniRuntime(spec.conflist, { binDirs: [spec.binDir], nodeNetns, timeoutMs: 30_000 });
    const [plugin] = spec.conflist.plugins;
    if (!plugin || spec.conflist.plugins.length !== 1)
      throw new Error(`${spec.label}: the benchmark expects a conflist with one plugin`);
    // What libcni hands the plugin: its entry with the list's cniVersion and name inserted.
    this.plugin = { ...plugin, cniVersion: spec.conflist.cniVersion, name: spec.conflist.name };
  }

  get key(): SubjectKey {
    return this.spec.key;
  }

  get pluginType(): string {
    return String(this.plugin.type);
  }

  pluginPath(): string {
    return this.runtime.pluginPath(this.pluginType);
  }

  /** The exact stdin of an ADD (DEL adds prevResult), for callers that spawn the plugin themselves. */
  addConfig(): JsonObject {
    return this.plugin;
  }

  /** A fresh pod namespace with a container ID never used before in this run. */
  createPod(tag: string): Pod {
    const n = this.podCount++;
    const { name, path } = this.sandbox.createNetns(`${this.key[0]}${tag}-${n}`);
    return {
      netns: name,
      attachment: {
        containerId: `bench-${this.sandbox.id}-${this.key}-${n}`,
        ifname: "eth0",
        netnsPath: path,
        args: { IgnoreUnknown: "1", K8S_POD_NAMESPACE: "bench", K8S_POD_NAME: `pod-${n}` },
      },
    };
  }

  deletePod(pod: Pod): void {
    deleteNetns(pod.netns);
  }

  /** One ADD; `ms` is the wall time around the plugin process (spawn to exit and output read). */
  add(pod: Pod): Promise<OpOutcome> {
    return this.timed("ADD", this.plugin, pod);
  }

  /** One DEL with the ADD result as prevResult, as libcni sends it from its cache (CNI ≥ 0.4.0). */
  del(pod: Pod, prevResult: unknown): Promise<OpOutcome> {
    const conf = prevResult === undefined ? this.plugin : { ...this.plugin, prevResult };
    return this.timed("DEL", conf, pod);
  }

  private async timed(command: string, conf: JsonObject, pod: Pod): Promise<OpOutcome> {
    const start = performance.now();
    try {
      const { output } = await this.runtime.exec(this.pluginType, command, conf, pod.attachment);
      return { ok: true, ms: performance.now() - start, output };
    } catch (e) {
      return {
        ok: false,
        ms: performance.now() - start,
        error: `${this.spec.label} ${command} ${pod.attachment.containerId}: ${(e as Error).message}`,
      };
    }
  }
}

/** The podnet conflist exactly as `podnet cni conflist` renders it for this run. */
export function podnetSpec(podnetExe: string, binDir: string, dataDir: string): SubjectSpec {
  const subnet = "10.250.0.0/16";
  const bridge = "pbench0";
  const r = mustRunSync([
    podnetExe,
    "cni",
    "conflist",
    "--name",
    "bench-podnet",
    "--subnet",
    subnet,
    "--mode",
    "bridge",
    "--bridge",
    bridge,
    "--data-dir",
    dataDir,
    "--cni-version",
    CNI_VERSION,
  ]);
  const conflist = JSON.parse(r.stdout) as Conflist;
  return { key: "podnet", label: LABELS.podnet, subnet, bridge, binDir, conflist };
}

/** The conflist the node agent wrote, used unchanged (its block, its bridge, its state dir). */
export function agentSpec(conflist: Conflist, binDir: string): SubjectSpec {
  const [plugin] = conflist.plugins;
  const ipam = plugin?.ipam as { ranges?: { subnet?: string }[][] } | undefined;
  const subnet = ipam?.ranges?.[0]?.[0]?.subnet;
  const bridge = plugin?.bridge;
  if (typeof subnet !== "string" || typeof bridge !== "string")
    throw new Error(`the agent's conflist names no subnet or bridge: ${JSON.stringify(conflist)}`);
  return { key: "agent", label: LABELS.agent, subnet, bridge, binDir, conflist };
}

/** bridge + host-local configured like podnet's conflist (isGateway and hairpin on). */
export function referenceSpec(binDir: string, dataDir: string): SubjectSpec {
  const subnet = "10.251.0.0/16";
  const bridge = "rbench0";
  mkdirSync(dataDir, { recursive: true });
  const conflist: Conflist = {
    cniVersion: CNI_VERSION,
    name: "bench-reference",
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        hairpinMode: true,
        mtu: 1500,
        ipam: { type: "host-local", ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }], dataDir },
      },
    ],
  };
  return { key: "reference", label: LABELS.reference, subnet, bridge, binDir, conflist };
}

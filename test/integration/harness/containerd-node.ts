/**
 * A Kubernetes node as the kubelet finds it, for the containerd CRI test: a network namespace of
 * the test's (a veth uplink with a documentation address), `podnet agent` in it writing its
 * conflist, and Debian's containerd in it reading that conflist through its CRI plugin, with the
 * pause and app images built from busybox-static and imported. Nothing outside the temp dir, the
 * namespace and the run's cgroup is touched; all three go on dispose, in the exit hook, or in the
 * next run's sweep.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { pollUntil } from "../../../src/base/poll-until.ts";
import { listPodRecords } from "../../../src/cluster/pod-records.ts";
import { parseConflist } from "../../../src/cni/conflist.ts";
import type { PodRecord } from "../../../src/k8s/service-model.ts";
import { mustRunSync } from "../../../src/linux/exec.ts";
import { inNetns } from "../../../src/linux/netns.ts";
import { type Allocation, NodeState, type PodRow } from "../../../src/node-state/node-state.ts";
import { openStore } from "../../../src/store/open-store.ts";
import { disposeOnExit } from "../../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../../testkit/podnet-build.ts";
import {
  type AgentProcess,
  NETWORK,
  stopAgentProcess,
  testAgentArgv,
  waitAgentReady,
} from "./cluster-agent.ts";
import { type ClusterNode, clusterNode } from "./cluster-node.ts";
import { containerdLayout } from "./containerd-config.ts";
import { ContainerdDaemon } from "./containerd-daemon.ts";
import type { CriClient } from "./cri-client.ts";
import { buildBusyboxImages } from "./oci-image.ts";
import { RunCgroup } from "./run-cgroup.ts";
import { REFERENCE_PLUGINS } from "./test-node.ts";
import { TestRun } from "./test-run.ts";

export const NODE_NAME = "node1";
const NODE_ADDRESS = "192.0.2.10/24";
export const PAUSE_IMAGE = "docker.io/pntest/pause:1";
export const APP_IMAGE = "docker.io/pntest/app:1";

/**
 * The sandbox's only process: waits, and exits at once on SIGTERM or SIGINT (PID 1 of a PID
 * namespace gets no default signal action, so without the trap only SIGKILL would end it).
 */
const PAUSE_ENTRYPOINT = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; sleep 2147483647 & wait"];

/** The part of a libcni cache file (kind cniCacheV1) the test reads. */
export interface CniCacheEntry {
  readonly containerId: string;
  readonly ifName: string;
  readonly networkName: string;
  readonly cniArgs?: readonly (readonly [string, string])[];
  readonly result?: { readonly cniVersion?: string; readonly ips?: readonly { readonly address: string }[] };
}

export class ContainerdNode {
  // The cgroup's exit hook is registered before the TestRun's, so on an abrupt exit the pods'
  // processes die before the namespaces and the temp dir under them are removed.
  private cgroup: RunCgroup | undefined;
  private readonly forgetCgroupHook = disposeOnExit(() => this.cgroup?.destroy());
  private readonly testRun = new TestRun();
  readonly prefix = this.testRun.prefix;
  readonly dir = this.testRun.dir;
  readonly binDir = `${this.dir}/bin`;
  readonly datastore = `sqlite:${this.dir}/cluster.db`;
  readonly node: ClusterNode;
  private agentProcess: AgentProcess | undefined;
  private daemonProcess: ContainerdDaemon | undefined;

  private constructor() {
    const netns = this.testRun.track("node");
    this.node = clusterNode({ name: NODE_NAME, address: NODE_ADDRESS, segment: "lan1" }, netns, this.dir);
  }

  /** Builds the node and starts the agent and containerd; cleans up after itself when that fails. */
  static async create(): Promise<ContainerdNode> {
    ensurePodnetBuilt();
    const n = new ContainerdNode();
    try {
      RunCgroup.sweepStale();
      n.cgroup = new RunCgroup(n.prefix);
      mustRunSync([PODNET, "install-cni", "--bin-dir", n.binDir]);
      // CRI brings up the pod's lo with the loopback plugin, looked up in the same bin_dir.
      symlinkSync(`${REFERENCE_PLUGINS}/loopback`, `${n.binDir}/loopback`);
      n.testRun.createNetns("node");
      const ns = n.node.netns;
      // The uplink: a veth whose peer stays in the namespace too (no dummy module on every kernel).
      mustRunSync(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer"]);
      mustRunSync(["ip", "-n", ns, "link", "set", "eth0-peer", "up"]);
      mustRunSync(["ip", "-n", ns, "addr", "add", NODE_ADDRESS, "dev", "eth0"]);
      mustRunSync(["ip", "-n", ns, "link", "set", "eth0", "up"]);
      await n.startAgent();
      const images = buildBusyboxImages(`${n.dir}/images`, [
        { name: PAUSE_IMAGE, entrypoint: PAUSE_ENTRYPOINT },
        { name: APP_IMAGE, entrypoint: ["/bin/sh"] },
      ]);
      n.daemonProcess = await ContainerdDaemon.start({
        layout: containerdLayout({
          dir: `${n.dir}/containerd`,
          cniBinDir: n.binDir,
          cniConfDir: n.node.confDir,
        }),
        netns: ns,
        cgroup: n.cgroup,
        sandboxImage: PAUSE_IMAGE,
        adopt: (child) => n.testRun.adopt(child),
      });
      n.daemonProcess.importImages(images);
      // The CRI plugin learns of imported images from an event; a sandbox asked for before that
      // would send containerd to a registry for its pause image.
      const cri = n.daemonProcess.cri;
      await pollUntil(
        "the CRI plugin to see the imported images",
        async () => (await cri.hasImage(PAUSE_IMAGE)) && (await cri.hasImage(APP_IMAGE)),
        15_000,
        { detail: () => n.containerd.logTail() },
      );
      return n;
    } catch (e) {
      await n.dispose({ quiet: true });
      throw e;
    }
  }

  private async startAgent(): Promise<void> {
    mkdirSync(this.node.confDir, { recursive: true });
    const logPath = `${this.dir}/agent.log`;
    const fd = openSync(logPath, "a");
    try {
      const argv = testAgentArgv(this.node, this.datastore, { backend: "host-gw" });
      const child = this.testRun.adopt(
        Bun.spawn(inNetns(this.node.netns, argv), { stdin: "ignore", stdout: fd, stderr: fd }),
      );
      this.agentProcess = { node: this.node, child, logPath, startedAt: Date.now() };
    } finally {
      closeSync(fd);
    }
    await waitAgentReady(this.agentProcess, 15_000);
  }

  get agent(): AgentProcess {
    if (!this.agentProcess) throw new Error("the node's agent is not running");
    return this.agentProcess;
  }

  get containerd(): ContainerdDaemon {
    if (!this.daemonProcess) throw new Error("the node's containerd is not running");
    return this.daemonProcess;
  }

  get cri(): CriClient {
    return this.containerd.cri;
  }

  /** The pods' cgroup_parent: inside the run's cgroup, so teardown finds their processes. */
  get podsCgroupParent(): string {
    if (!this.cgroup) throw new Error("the node has no cgroup");
    return this.cgroup.podsParent;
  }

  /** Processes in the run's cgroup: containerd, shims, runc, the pods' processes. */
  processes(): number[] {
    return this.cgroup?.pids() ?? [];
  }

  /** Whether any cgroup hierarchy still has the run's tree. */
  cgroupExists(): boolean {
    return this.cgroup?.exists() ?? false;
  }

  /** The agent's conflist as containerd reads it. */
  conflistText(): string {
    return readFileSync(this.node.conflistPath, "utf8");
  }

  /** The pod block the agent leased and wrote into its conflist. */
  block(): string {
    const conflist = parseConflist(this.conflistText());
    const ipam = conflist.plugins[0]?.ipam as { ranges?: { subnet: string }[][] } | undefined;
    const subnet = ipam?.ranges?.[0]?.[0]?.subnet;
    if (!subnet) throw new Error(`the conflist in ${this.node.confDir} names no subnet`);
    return subnet;
  }

  /** What the plugin wrote into the node state: pod rows and allocations of the network. */
  nodeState(): { pods: PodRow[]; allocations: Allocation[] } {
    const state = NodeState.open(this.node.stateDir);
    try {
      return { pods: state.listPods(NETWORK).rows, allocations: state.list(NETWORK) };
    } finally {
      state.close();
    }
  }

  /**
   * libcni's result cache in containerd's /var/lib (the temp dir's): one file per attachment,
   * named NETWORK-CONTAINERID-IFNAME, holding the CNI_ARGS containerd passed and the result it got.
   */
  cniCache(): Map<string, CniCacheEntry> {
    const dir = `${this.containerd.layout.varLib}/cni/results`;
    const entries = new Map<string, CniCacheEntry>();
    if (!existsSync(dir)) return entries;
    for (const name of readdirSync(dir))
      entries.set(name, JSON.parse(readFileSync(`${dir}/${name}`, "utf8")) as CniCacheEntry);
    return entries;
  }

  /** The pod records the agent published for this node in the datastore. */
  async podRecords(): Promise<PodRecord[]> {
    const store = await openStore(this.datastore);
    try {
      return (await listPodRecords(store, NODE_NAME)).pods;
    } finally {
      await store.close();
    }
  }

  /**
   * Kills everything containerd started (through the cgroup), stops the agent, removes the
   * namespace, the temp dir and the cgroups. Throws when something could not be removed, unless
   * `quiet`.
   */
  async dispose(options: { quiet?: boolean } = {}): Promise<void> {
    const problems: string[] = [];
    this.daemonProcess?.close();
    try {
      this.cgroup?.destroy();
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (this.agentProcess) {
      try {
        await stopAgentProcess(this.agentProcess, "SIGTERM", 10_000);
      } catch (e) {
        problems.push((e as Error).message);
      }
      this.testRun.release(this.agentProcess.child);
    }
    try {
      this.testRun.dispose(options);
    } catch (e) {
      problems.push((e as Error).message);
    }
    this.forgetCgroupHook();
    if (problems.length > 0 && !options.quiet)
      throw new Error(`teardown of ${this.prefix}: ${problems.join("; ")}`);
  }
}

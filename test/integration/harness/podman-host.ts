/**
 * A single host as a podman user has it, for the podman test: Debian's podman (CNI backend, runc,
 * cgroupfs) with podnet's standalone conflist (`podnet cni conflist`, portmap chained), isolated
 * from the machine it runs on:
 * - network: podman runs inside a network namespace of the test (nsenter --net; `ip netns exec`
 *   would remount /sys and hide the cgroup hierarchies runc needs), so the bridge, the host veths
 *   and portmap's iptables rules are made there;
 * - mounts: in a mount namespace of its own (unshare, private propagation) that a sleeping process
 *   holds and every podman command enters, so a netns bind mount one command makes is there for
 *   the next. /run, /var/lib and /dev/shm are empty tmpfs in it: the containers' netns files
 *   (/run/netns), runc's state (/run/runc), libcni's result cache (/var/lib/cni), the blob cache and
 *   podman's SHM locks live and die with that namespace instead of appearing on the machine;
 * - processes: conmon and the containers run under the run's cgroup tree (--cgroup-parent), which
 *   teardown empties with SIGKILL, as it does in the exit hook or the next run's sweep;
 * - files: storage, configuration, plugins and podnet's state under the temp dir.
 */
import { readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { pollUntil } from "../../../src/base/poll-until.ts";
import { mustRunSync, type RunResult, run, runSync } from "../../../src/linux/exec.ts";
import { inNetns, netnsPath } from "../../../src/linux/netns.ts";
import { type Allocation, NodeState, type PodRow } from "../../../src/node-state/node-state.ts";
import { disposeOnExit } from "../../../testkit/dispose-on-exit.ts";
import { ensurePodnetBuilt, PODNET } from "../../../testkit/podnet-build.ts";
import { type IpLink, podnetVeths } from "./kernel-state.ts";
import {
  type PodmanLayout,
  podmanEnv,
  podmanGlobalFlags,
  podmanLayout,
  writePodmanConfig,
} from "./podman-config.ts";
import { BUSYBOX, busyboxRootfsTar } from "./podman-image.ts";
import { RunCgroup } from "./run-cgroup.ts";
import { REFERENCE_PLUGINS } from "./test-node.ts";
import { TestRun } from "./test-run.ts";

export const NETWORK = "pnpodman";
export const SUBNET = "10.89.0.0/24";
/** The namespace's own address (documentation range), on its lo: where published ports answer. */
export const HOST_ADDRESS = "192.0.2.1";
export const IMAGE = "localhost/pntest/busybox:1";

/** Directories that are private, empty tmpfs in podman's mount namespace, and their modes. */
const PRIVATE_DIRS = [
  ["/run", "0755"],
  ["/var/lib", "0755"],
  ["/dev/shm", "1777"],
] as const;

const COMMAND_TIMEOUT_MS = 120_000;

export class PodmanCommandError extends Error {
  override readonly name = "PodmanCommandError";
}

export class PodmanHost {
  // Registered before the TestRun's hook, so on an abrupt exit the containers are removed and
  // their processes killed before the namespace and the temp dir under them go.
  private cgroup: RunCgroup | undefined;
  private readonly forgetRuntimeHook = disposeOnExit(() => this.stopRuntime());
  private readonly testRun = new TestRun();
  readonly prefix = this.testRun.prefix;
  readonly layout: PodmanLayout = podmanLayout(`${this.testRun.dir}/podman`);
  readonly stateDir = `${this.testRun.dir}/podnet-state`;
  readonly netns = this.testRun.track("host");
  readonly conflistPath = `${this.layout.netConfDir}/${NETWORK}.conflist`;
  private holder: Subprocess | undefined;

  /** Builds the host, imports the image with one page per name in `pages`; cleans up when that fails. */
  static async create(pages: readonly string[]): Promise<PodmanHost> {
    ensurePodnetBuilt();
    const h = new PodmanHost();
    try {
      RunCgroup.sweepStale();
      h.cgroup = new RunCgroup(h.prefix);
      h.installNetwork();
      h.testRun.createNetns("host");
      mustRunSync(["ip", "-n", h.netns, "link", "set", "lo", "up"]);
      mustRunSync(["ip", "-n", h.netns, "addr", "add", `${HOST_ADDRESS}/32`, "dev", "lo"]);
      await h.startHolder(h.cgroup);
      const tar = busyboxRootfsTar(`${h.testRun.dir}/image`, pages);
      // Import reads a signature policy; ours, not whatever /etc/containers has (or lacks).
      await h.mustPodman(["import", "--signature-policy", h.layout.policy, tar, IMAGE]);
      return h;
    } catch (e) {
      h.dispose({ quiet: true });
      throw e;
    }
  }

  /** podnet and portmap in the plugin dir, and the conflist exactly as `podnet cni conflist` prints it. */
  private installNetwork(): void {
    const l = this.layout;
    writePodmanConfig(l);
    mustRunSync([PODNET, "install-cni", "--bin-dir", l.cniBinDir]);
    symlinkSync(`${REFERENCE_PLUGINS}/portmap`, `${l.cniBinDir}/portmap`);
    const conflist = mustRunSync([
      PODNET,
      ...["cni", "conflist", "--name", NETWORK, "--subnet", SUBNET],
      ...["--chain", "portmap", "--data-dir", this.stateDir],
    ]).stdout;
    writeFileSync(this.conflistPath, conflist);
  }

  /** Starts the process holding podman's mount namespace (in the run's cgroup) and mounts the private dirs. */
  private async startHolder(cgroup: RunCgroup): Promise<void> {
    const argv = ["unshare", "--mount", "--propagation", "private"];
    const holder = this.testRun.adopt(
      // stderr inherited: if unshare or nsenter fails, the test output says why.
      Bun.spawn([...argv, "nsenter", `--net=${netnsPath(this.netns)}`, "sleep", "infinity"], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "inherit",
      }),
    );
    this.holder = holder;
    cgroup.adopt(holder.pid);
    const netInode = `net:[${statSync(netnsPath(this.netns)).ino}]`;
    // unshare and nsenter exec into sleep: same pid, namespaces switched once sleep runs.
    await pollUntil(
      "podman's namespace holder to enter the test namespace",
      () => {
        if (holder.exitCode !== null) throw new Error(`the namespace holder exited with ${holder.exitCode}`);
        return readlinkSync(`/proc/${holder.pid}/ns/net`) === netInode;
      },
      10_000,
    );
    for (const [dir, mode] of PRIVATE_DIRS)
      mustRunSync([
        "nsenter",
        "-t",
        String(holder.pid),
        "-m",
        "mount",
        "-t",
        "tmpfs",
        "-o",
        `mode=${mode}`,
        "pntest",
        dir,
      ]);
  }

  private get holderPid(): number {
    if (!this.holder || this.holder.exitCode !== null)
      throw new Error("podman's namespace holder is not running");
    return this.holder.pid;
  }

  private podmanArgv(args: readonly string[]): string[] {
    return [
      "nsenter",
      "-t",
      String(this.holderPid),
      "-m",
      "-n",
      "podman",
      ...podmanGlobalFlags(this.layout),
      ...args,
    ];
  }

  /** Runs `podman ARGS` in the host's namespaces with the test's configuration. */
  podman(args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<RunResult> {
    return run(this.podmanArgv(args), { env: podmanEnv(this.layout), replaceEnv: true, timeoutMs });
  }

  /** Like podman(), but throws when it fails; returns its stdout, trimmed. */
  async mustPodman(args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
    const r = await this.podman(args, timeoutMs);
    if (r.code !== 0)
      throw new PodmanCommandError(
        `podman ${args.join(" ")} failed with exit code ${r.code}: ${r.stderr.trim()}`,
      );
    return r.stdout.trim();
  }

  /**
   * Starts a detached container serving /www/PAGE over HTTP on port 80 on the podnet network;
   * returns its full ID. busybox httpd as PID 1 ignores SIGTERM, so removal uses `-t 0`.
   */
  runWebServer(name: string, page: string, extra: readonly string[] = []): Promise<string> {
    return this.mustPodman([
      ...["run", "--detach", "--name", name, "--network", NETWORK, "--pull", "never"],
      ...["--cgroup-parent", this.cgroupParent, ...extra, IMAGE],
      ...["/bin/httpd", "-f", "-p", "80", "-h", `/www/${page}`],
    ]);
  }

  /** The container's address on the podnet network, as podman recorded it from the CNI result. */
  async containerAddress(name: string): Promise<string> {
    return this.mustPodman([
      "inspect",
      "--format",
      `{{(index .NetworkSettings.Networks "${NETWORK}").IPAddress}}`,
      name,
    ]);
  }

  /**
   * Fetches `url` with busybox wget from the host namespace itself (not from a container). No
   * `-T`: Debian 12's busybox-static wget crashes with it; the command's timeout bounds the wait.
   */
  fetchFromHost(url: string): Promise<RunResult> {
    return run(inNetns(this.netns, [BUSYBOX, "wget", "-q", "-O", "-", url]), {
      timeoutMs: 30_000,
    });
  }

  get cgroupParent(): string {
    if (!this.cgroup) throw new Error("the podman host has no cgroup");
    return this.cgroup.podsParent;
  }

  /** Host veths podnet created in the namespace podman attaches containers from. */
  veths(): IpLink[] {
    return podnetVeths(this.netns);
  }

  /** What podnet's IPAM and pod table hold for the network. */
  nodeState(): { allocations: Allocation[]; pods: PodRow[] } {
    const state = NodeState.open(this.stateDir);
    try {
      return { allocations: state.list(NETWORK), pods: state.listPods(NETWORK).rows };
    } finally {
      state.close();
    }
  }

  /** Entries of `dir` as podman's mount namespace sees it (/run/netns, /var/lib/cni/results). */
  privateEntries(dir: string): string[] {
    try {
      return readdirSync(`/proc/${this.holderPid}/root${dir}`).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }

  /** A file as podman's mount namespace sees it. */
  readPrivateFile(path: string): string {
    return readFileSync(`/proc/${this.holderPid}/root${path}`, "utf8");
  }

  /** Processes in the run's cgroup other than the namespace holder: conmon, containers. */
  runtimeProcesses(): number[] {
    return (this.cgroup?.pids() ?? []).filter((p) => p !== this.holder?.pid);
  }

  /** The namespace's NAT table as iptables-save prints it (portmap's rules). */
  natRules(): string {
    return mustRunSync(inNetns(this.netns, ["iptables-save", "-t", "nat"])).stdout;
  }

  /**
   * Removes every container (CNI DEL through podman), then kills whatever is left in the cgroup
   * tree (conmon, containers, the holder) and removes the tree. Synchronous for the exit hook;
   * returns what went wrong.
   */
  private stopRuntime(): string[] {
    const problems: string[] = [];
    if (this.holder && this.holder.exitCode === null) {
      const r = runSync(this.podmanArgv(["rm", "--force", "--all", "--time", "0"]), {
        env: podmanEnv(this.layout),
        replaceEnv: true,
        timeoutMs: COMMAND_TIMEOUT_MS,
      });
      if (r.code !== 0) problems.push(`podman rm --all failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    try {
      this.cgroup?.destroy();
    } catch (e) {
      problems.push((e as Error).message);
    }
    return problems;
  }

  /** Stops podman's containers and processes, then removes the namespace and the temp dir. */
  dispose(options: { quiet?: boolean } = {}): void {
    this.forgetRuntimeHook();
    const problems = this.stopRuntime();
    try {
      this.testRun.dispose(options);
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (problems.length > 0 && !options.quiet)
      throw new Error(`cleanup of podman host ${this.prefix} failed: ${problems.join("; ")}`);
  }
}

/**
 * Debian's containerd run for one test: inside the test's node network namespace (nsenter, so
 * /sys keeps its cgroup mounts, which `ip netns exec` would hide) and in a mount namespace of its
 * own (unshare) where /run and /var/lib are directories of the temp dir — the shims' sockets
 * (/run/containerd/s) and libcni's result cache (/var/lib/cni), which containerd 1.6 does not let
 * a config move, stay in the temp dir — and every mount containerd, its shims and runc make
 * (snapshots, pod netns files, shm) lives and dies with that mount namespace instead of appearing
 * on the machine. The process starts in the test's
 * cgroup (run-cgroup.ts), which is what kills it and all it started.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import type { Subprocess } from "bun";
import { pollUntil } from "../../../src/base/poll-until.ts";
import { mustRunSync } from "../../../src/linux/exec.ts";
import { netnsPath } from "../../../src/linux/netns.ts";
import { type ContainerdLayout, renderContainerdConfig } from "./containerd-config.ts";
import { CriClient } from "./cri-client.ts";
import type { RunCgroup } from "./run-cgroup.ts";

/** The Kubernetes namespace of containerd: images the CRI plugin sees are imported here. */
export const K8S_NAMESPACE = "k8s.io";

const SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Binds the temp dir's directories over /run ($0) and /var/lib ($1), then becomes containerd (the
 * rest). Values only travel as arguments, never inside the script.
 */
const BIND_AND_EXEC = 'mount --bind "$0" /run && mount --bind "$1" /var/lib && shift && exec "$@"';

export interface ContainerdStartOptions {
  readonly layout: ContainerdLayout;
  readonly netns: string;
  readonly cgroup: RunCgroup;
  readonly sandboxImage: string;
  /** Called with the process before anything else, so the test run kills it on any exit. */
  readonly adopt: (child: Subprocess) => void;
  readonly readyTimeoutMs?: number;
}

export class ContainerdDaemon {
  private constructor(
    readonly layout: ContainerdLayout,
    readonly child: Subprocess,
    readonly cri: CriClient,
  ) {}

  /** Writes the config, starts containerd and waits until its CRI service answers Version. */
  static async start(o: ContainerdStartOptions): Promise<ContainerdDaemon> {
    const l = o.layout;
    for (const d of [l.dir, l.root, l.state, l.runcRoot, l.temp, l.run, l.varLib])
      mkdirSync(d, { recursive: true });
    writeFileSync(
      l.config,
      renderContainerdConfig(l, { sandboxImage: o.sandboxImage, snapshotter: "overlayfs" }),
    );
    const argv = [
      "unshare",
      "--mount",
      "--propagation",
      "slave",
      "nsenter",
      `--net=${netnsPath(o.netns)}`,
      "sh",
      "-c",
      BIND_AND_EXEC,
      l.run,
      l.varLib,
      "containerd",
      "--config",
      l.config,
      "--log-level",
      "debug",
    ];
    const fd = openSync(l.log, "a");
    let child: Subprocess;
    try {
      child = Bun.spawn(argv, {
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
        env: { PATH: SYSTEM_PATH, TMPDIR: l.temp, HOME: l.dir },
      });
    } finally {
      closeSync(fd);
    }
    o.adopt(child);
    o.cgroup.adopt(child.pid);
    const cri = new CriClient(l.socket);
    const daemon = new ContainerdDaemon(l, child, cri);
    try {
      await pollUntil(
        "containerd's CRI service to answer",
        async () => {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`containerd exited (${child.exitCode ?? child.signalCode}): ${daemon.logTail()}`);
          if (!existsSync(l.socket)) return false;
          try {
            await cri.version(1000);
            return true;
          } catch {
            return false;
          }
        },
        o.readyTimeoutMs ?? 30_000,
        { detail: () => daemon.logTail() },
      );
    } catch (e) {
      cri.close();
      throw e;
    }
    return daemon;
  }

  /** `ctr images import` into the CRI plugin's namespace (unpacked for its snapshotter). */
  importImages(archive: string): string {
    return mustRunSync(
      ["ctr", "--address", this.layout.socket, "--namespace", K8S_NAMESPACE, "images", "import", archive],
      { timeoutMs: 120_000 },
    ).stdout;
  }

  /** The last lines of containerd's log (warnings and errors first, they explain failures). */
  logTail(lines = 15): string {
    if (!existsSync(this.layout.log)) return "(no log)";
    const all = readFileSync(this.layout.log, "utf8").trimEnd().split("\n");
    const problems = all.filter((l) => /level=(error|warning|fatal)/.test(l)).slice(-lines);
    return [...problems, "--- last lines:", ...all.slice(-lines)].join("\n");
  }

  close(): void {
    this.cri.close();
  }
}

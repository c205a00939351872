/**
 * containerd's config.toml (version 2) for a containerd of a test's own: every path it writes
 * under the test's temp dir, the CRI plugin with a locally imported sandbox image, CNI from the
 * test's bin and conf dirs, runc with cgroupfs, and the plugins a test does not need switched off.
 */

export interface ContainerdPaths {
  /** Everything below lives here: config, root, state, socket, runc root, temp dir. */
  readonly dir: string;
  /** Where `podnet install-cni` put podnet (and Debian's loopback, which CRI runs for `lo`). */
  readonly cniBinDir: string;
  /** The conflist directory, the node agent's --cni-conf-dir. */
  readonly cniConfDir: string;
}

export interface ContainerdLayout extends ContainerdPaths {
  readonly config: string;
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly runcRoot: string;
  readonly temp: string;
  /** Bound over /run in containerd's mount namespace: the shims' sockets (/run/containerd/s) land here. */
  readonly run: string;
  /** Bound over /var/lib there: libcni's result cache (/var/lib/cni/results), which 1.6 cannot move. */
  readonly varLib: string;
  readonly log: string;
}

export function containerdLayout(p: ContainerdPaths): ContainerdLayout {
  return {
    ...p,
    config: `${p.dir}/config.toml`,
    root: `${p.dir}/root`,
    state: `${p.dir}/state`,
    socket: `${p.dir}/containerd.sock`,
    runcRoot: `${p.dir}/runc`,
    temp: `${p.dir}/tmp`,
    run: `${p.dir}/run`,
    varLib: `${p.dir}/var-lib`,
    log: `${p.dir}/containerd.log`,
  };
}

/**
 * Snapshotters and services a test containerd does without: aufs, btrfs, zfs and devmapper probe
 * for kernel modules and pools the machine need not have; the opt plugin would create
 * /opt/containerd; tracing would look for a collector.
 */
export const DISABLED_PLUGINS = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
] as const;

/** A TOML basic string (JSON's escapes are TOML's for the characters paths and names hold). */
const str = (value: string): string => JSON.stringify(value);

export interface ContainerdConfigOptions {
  readonly sandboxImage: string;
  readonly snapshotter: "overlayfs" | "native";
}

export function renderContainerdConfig(l: ContainerdLayout, o: ContainerdConfigOptions): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  return [
    "version = 2",
    `root = ${str(l.root)}`,
    `state = ${str(l.state)}`,
    `temp = ${str(l.temp)}`,
    `disabled_plugins = [${DISABLED_PLUGINS.map(str).join(", ")}]`,
    "",
    "[grpc]",
    `  address = ${str(l.socket)}`,
    "",
    "[ttrpc]",
    `  address = ${str(`${l.socket}.ttrpc`)}`,
    "",
    `${cri}]`,
    `  sandbox_image = ${str(o.sandboxImage)}`,
    // Pod network namespaces as files under the state dir, not /run/netns.
    "  netns_mounts_under_state_dir = true",
    "  disable_apparmor = true",
    // The sandbox asks for oom_score_adj -998, which needs CAP_SYS_RESOURCE; sandboxed CI machines
    // run root without it. Restricted, containerd asks for nothing below its own score.
    "  restrict_oom_score_adj = true",
    "  enable_selinux = false",
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    "",
    `${cri}.containerd]`,
    `  snapshotter = ${str(o.snapshotter)}`,
    '  default_runtime_name = "runc"',
    "",
    `${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    "",
    `${cri}.containerd.runtimes.runc.options]`,
    "  SystemdCgroup = false",
    `  Root = ${str(l.runcRoot)}`,
    "",
    `${cri}.cni]`,
    `  bin_dir = ${str(l.cniBinDir)}`,
    `  conf_dir = ${str(l.cniConfDir)}`,
    "  max_conf_num = 1",
    "",
  ].join("\n");
}

/**
 * The files a test's podman reads instead of the machine's: containers.conf (CNI backend, plugin
 * and network config directories, cgroupfs, file events, every state directory), storage.conf,
 * registries.conf and a signature policy, all under the test's temp dir. With CONTAINERS_CONF set
 * podman reads no other containers.conf, so nothing configured on the machine changes the test.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

export interface PodmanLayout {
  readonly dir: string;
  /** Image and container storage (--root) and its run-time state (--runroot). */
  readonly root: string;
  readonly runroot: string;
  /** libpod's tmp_dir, image copies, TMPDIR and XDG_RUNTIME_DIR. */
  readonly tmp: string;
  readonly xdgRuntime: string;
  /** cni_plugin_dirs: podnet, podnet-ipam and the chained reference plugins. */
  readonly cniBinDir: string;
  /** network_config_dir: the conflists podman's CNI backend reads. */
  readonly netConfDir: string;
  readonly containersConf: string;
  readonly storageConf: string;
  readonly registriesConf: string;
  readonly policy: string;
  readonly eventsLog: string;
}

export function podmanLayout(dir: string): PodmanLayout {
  return {
    dir,
    root: `${dir}/storage`,
    runroot: `${dir}/storage-run`,
    tmp: `${dir}/tmp`,
    xdgRuntime: `${dir}/xdg-runtime`,
    cniBinDir: `${dir}/cni-bin`,
    netConfDir: `${dir}/net.d`,
    containersConf: `${dir}/containers.conf`,
    storageConf: `${dir}/storage.conf`,
    registriesConf: `${dir}/registries.conf`,
    policy: `${dir}/policy.json`,
    eventsLog: `${dir}/events.log`,
  };
}

/** A TOML basic string (JSON's escaping is a subset of TOML's). */
const toml = (s: string): string => JSON.stringify(s);
const tomlList = (items: readonly string[]): string => `[${items.map(toml).join(", ")}]`;

/** The hard limit `label` of /proc/self/limits; undefined when unlimited. */
function hardLimit(limits: string, label: string): number | undefined {
  const m = new RegExp(`^${label}\\s+\\S+\\s+(\\S+)`, "m").exec(limits);
  if (!m) throw new Error(`Cannot read "${label}" from /proc/self/limits`);
  return m[1] === "unlimited" ? undefined : Number(m[1]);
}

/**
 * The containers' nofile and nproc limits: what podman itself runs with. Left alone, podman asks
 * runc for nofile=1048576 and nproc=pid_max; raising a hard limit above the one runc inherited
 * needs CAP_SYS_RESOURCE, which root lacks in some sandboxes, and runc then fails with "error
 * setting rlimit type 7 (or 6): operation not permitted". podman keeps our hard nofile when it
 * cannot raise it, and lowers its own nproc to pid_max when that is lower.
 */
export function inheritedUlimits(): string[] {
  const limits = readFileSync("/proc/self/limits", "utf8");
  const nofile = hardLimit(limits, "Max open files");
  const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
  const nproc = Math.min(pidMax, hardLimit(limits, "Max processes") ?? pidMax);
  return [...(nofile === undefined ? [] : [`nofile=${nofile}:${nofile}`]), `nproc=${nproc}:${nproc}`];
}

export function renderContainersConf(l: PodmanLayout, ulimits: readonly string[]): string {
  return [
    "[containers]",
    // journald needs systemd; k8s-file writes the container logs under the storage root.
    'log_driver = "k8s-file"',
    `default_ulimits = ${tomlList(ulimits)}`,
    "",
    "[network]",
    'network_backend = "cni"',
    `cni_plugin_dirs = ${tomlList([l.cniBinDir])}`,
    `network_config_dir = ${toml(l.netConfDir)}`,
    "",
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `events_logfile_path = ${toml(l.eventsLog)}`,
    `tmp_dir = ${toml(l.tmp)}`,
    `image_copy_tmp_dir = ${toml(l.tmp)}`,
    // Debian's podman depends on "crun | runc"; the test names the one scripts/setup.sh installs.
    'runtime = "runc"',
    "",
  ].join("\n");
}

/** Writes the config files and creates the directories they name. */
export function writePodmanConfig(l: PodmanLayout): void {
  for (const d of [l.root, l.runroot, l.tmp, l.xdgRuntime, l.cniBinDir, l.netConfDir])
    mkdirSync(d, { recursive: true, mode: 0o700 });
  writeFileSync(l.containersConf, renderContainersConf(l, inheritedUlimits()));
  // vfs: plain directories, no overlay mounts, works on any file system the temp dir is on.
  writeFileSync(
    l.storageConf,
    ["[storage]", 'driver = "vfs"', `graphroot = ${toml(l.root)}`, `runroot = ${toml(l.runroot)}`, ""].join(
      "\n",
    ),
  );
  // No registry is reachable or wanted: no short-name search, images only from `podman import`.
  writeFileSync(l.registriesConf, "unqualified-search-registries = []\n");
  writeFileSync(l.policy, `${JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] })}\n`);
}

/** The environment of every podman command: the config above, and nothing of ours. */
export function podmanEnv(l: PodmanLayout): Record<string, string> {
  return {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: l.dir,
    CONTAINERS_CONF: l.containersConf,
    CONTAINERS_STORAGE_CONF: l.storageConf,
    CONTAINERS_REGISTRIES_CONF: l.registriesConf,
    XDG_RUNTIME_DIR: l.xdgRuntime,
    TMPDIR: l.tmp,
  };
}

/** Global flags repeating the storage and cgroup choices, so no other file can override them. */
export function podmanGlobalFlags(l: PodmanLayout): string[] {
  return [
    "--root",
    l.root,
    "--runroot",
    l.runroot,
    "--storage-driver",
    "vfs",
    "--cgroup-manager",
    "cgroupfs",
    "--tmpdir",
    l.tmp,
    "--events-backend",
    "file",
  ];
}

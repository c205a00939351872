/**
 * `podnet agent`: runs the node agent until SIGTERM/SIGINT. The first agent of a cluster creates
 * the cluster config from --cluster-cidr (compare-and-swap: concurrent first agents agree); the
 * agent refuses to start when the plan overlaps its node network or a listed external range.
 */
import { hostname } from "node:os";
import { Agent } from "../agent/agent.ts";
import type { AgentOptions } from "../agent/agent-options.ts";
import { defaultRouteInterface, readUplink } from "../agent/uplink.ts";
import { initClusterConfig, readClusterConfig } from "../cluster/cluster-config-store.ts";
import type { Backend } from "../cluster/node-record.ts";
import { BACKENDS, NODE_NAME } from "../cluster/node-record.ts";
import { createLogger, type Level, type Logger } from "../daemon/log.ts";
import { type ListenAddress, type MetricsServer, serveMetrics } from "../daemon/metrics-server.ts";
import type { Overlap } from "../ipam/address-plan.ts";
import { planAddresses } from "../ipam/address-plan.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { buildClusterConfig } from "../ipam/cluster-config.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix, parsePrefix } from "../ipnet/prefix.ts";
import type { ProxyOptions } from "../proxy/service-proxy.ts";
import { openStore } from "../store/open-store.ts";
import { DatastoreUnavailableError } from "../store/store.ts";
import { clusterDnsFlags, DNS_FLAGS, NODE_RESOLV_CONF, readResolvConf } from "./agent-dns-flags.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, flagList, UsageError } from "./args.ts";
import { parseMaxPods, parseNodeBlocks } from "./plan.ts";

export const AGENT_USAGE =
  "podnet agent --datastore sqlite:PATH|etcd://HOST:PORT[,...] [--node-name NAME] [--backend host-gw|vxlan|auto|bgp] [--uplink IFACE] [--cluster-cidr CIDR ...] [--service-cidr CIDR ...] [--node-block /24 | --max-pods N] [--avoid CIDR ...] [--cni-conf-dir DIR] [--cni-mode bridge|ptp] [--network NAME] [--state-dir DIR] [--bgp-state-dir DIR] [--lease-ttl SECONDS] [--block-grace SECONDS] [--resync SECONDS] [--metrics-addr HOST:PORT|off] [--log-level debug|info|warn|error] [--proxy on|off] [--masquerade-egress on|off] [--keep-private-ranges on|off] [--non-masquerade-cidr CIDR ...] [--cluster-domain DOMAIN] [--dns-address IP|none] [--dns-upstream IP[:PORT]|none ...]";

const FLAGS = [
  "datastore",
  "node-name",
  "backend",
  "uplink",
  "cluster-cidr",
  "service-cidr",
  "node-block",
  "max-pods",
  "avoid",
  "cni-conf-dir",
  "cni-mode",
  "network",
  "state-dir",
  "bgp-state-dir",
  "lease-ttl",
  "block-grace",
  "resync",
  "metrics-addr",
  "log-level",
  "proxy",
  "masquerade-egress",
  "keep-private-ranges",
  "non-masquerade-cidr",
  ...DNS_FLAGS,
];

function onOff(args: ParsedArgs, name: string, fallback: boolean): boolean {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  if (text !== "on" && text !== "off") throw new UsageError(`--${name} "${text}" must be on or off`);
  return text === "on";
}

/** The service proxy's settings from the flags; undefined with --proxy off. */
function proxyOptions(args: ParsedArgs, resyncSeconds: number): ProxyOptions | undefined {
  if (!onOff(args, "proxy", true)) return undefined;
  const extra = flagList(args, "non-masquerade-cidr");
  for (const text of extra) {
    try {
      parsePrefix(text);
    } catch {
      throw new UsageError(`--non-masquerade-cidr "${text}" is not a CIDR (e.g. 192.168.0.0/16)`);
    }
  }
  return {
    masqueradeEgress: onOff(args, "masquerade-egress", true),
    keepPrivateRanges: onOff(args, "keep-private-ranges", false),
    nonMasqueradeCidrs: extra,
    checkSeconds: resyncSeconds,
  };
}

function seconds(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const text = flag(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} "${text}" must be a number of seconds from ${min} to ${max}`);
  return n;
}

function absolute(args: ParsedArgs, name: string, fallback: string): string {
  const dir = flag(args, name) ?? fallback;
  if (!dir.startsWith("/") || dir.split("/").includes("..") || dir.includes("\0")) {
    throw new UsageError(`--${name} "${dir}" must be an absolute path without ".."`);
  }
  return dir.replace(/\/+$/, "");
}

/**
 * BIRD's control socket lives there: a UNIX socket's path holds at most 107 bytes (sun_path).
 * Checked when BIRD will run (bgp) or the dir was given; `auto` runs BIRD only with peers.
 */
function bgpStateDir(args: ParsedArgs, stateDir: string, backend: Backend): string {
  const dir = absolute(args, "bgp-state-dir", `${stateDir}/bgp`);
  const socket = `${dir}/bird.ctl`;
  const check = backend === "bgp" || flag(args, "bgp-state-dir") !== undefined;
  if (check && Buffer.byteLength(socket) > 107)
    throw new UsageError(
      `--bgp-state-dir "${dir}" is too long for BIRD's control socket ${socket} (at most 107 bytes): give a shorter --bgp-state-dir`,
    );
  return dir;
}

function metricsAddr(text: string): ListenAddress | undefined {
  if (text === "off") return undefined;
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw new UsageError(`--metrics-addr "${text}" must be HOST:PORT or "off"`);
  return { hostname: (m[1] as string).replace(/^\[|\]$/g, ""), port };
}

/**
 * Overlaps that must stop the agent: those involving the pod or service ranges. Two addresses of
 * the node in one subnet (a VIP, a renumbering in progress) are no reason to refuse.
 */
function planOverlaps(
  config: ClusterConfig,
  connected: readonly IPPrefix[],
  avoid: readonly string[],
): Overlap[] {
  const nodeNetworks = [...new Set(connected.map(formatPrefix))];
  const plan = planAddresses({
    clusterCidrs: config.clusterCidrs.map(formatPrefix),
    serviceCidrs: config.serviceCidrs.map(formatPrefix),
    nodeNetworks,
    avoid,
  });
  const cluster = (k: string) => k === "pod" || k === "service";
  return plan.overlaps.filter((o) => cluster(o.a.kind) || cluster(o.b.kind));
}

export async function agentCommand(args: ParsedArgs): Promise<number> {
  assertKnownFlags(args, [...FLAGS, "help"]);
  if (flag(args, "help") !== undefined) {
    console.log(`usage: ${AGENT_USAGE}`);
    return 0;
  }
  const datastore = flag(args, "datastore");
  if (!datastore) throw new UsageError(`--datastore is required\nusage: ${AGENT_USAGE}`);
  const nodeName = flag(args, "node-name") ?? hostname().toLowerCase();
  if (!NODE_NAME.test(nodeName))
    throw new UsageError(`--node-name "${nodeName}" must be a DNS label-like name (a-z, 0-9, "-", ".")`);
  const backend = (flag(args, "backend") ?? "auto") as Backend;
  if (!BACKENDS.includes(backend))
    throw new UsageError(`--backend "${backend}" must be one of ${BACKENDS.join(", ")}`);
  const level = (flag(args, "log-level") ?? "info") as Level;
  if (!["debug", "info", "warn", "error"].includes(level))
    throw new UsageError(`--log-level "${level}" is not a level`);
  const metrics = metricsAddr(flag(args, "metrics-addr") ?? "127.0.0.1:9464");
  const clusterCidrs = flagList(args, "cluster-cidr");
  const serviceCidrs = flagList(args, "service-cidr");
  const maxPods = flag(args, "max-pods");
  const nodeBlocks = flagList(args, "node-block");
  const cniMode = flag(args, "cni-mode") ?? "bridge";
  if (cniMode !== "bridge" && cniMode !== "ptp")
    throw new UsageError(`--cni-mode "${cniMode}" must be bridge or ptp`);
  const log = createLogger({ component: "agent", node: nodeName }, level);

  // Everything that can be checked without the datastore is checked before it is touched.
  const uplinkName = flag(args, "uplink") ?? defaultRouteInterface();
  const uplink = readUplink(uplinkName);
  const stateDir = absolute(args, "state-dir", "/run/podnet");
  const agentOptions: AgentOptions = {
    nodeName,
    backend,
    uplink: uplinkName,
    cniConfDir: absolute(args, "cni-conf-dir", "/etc/cni/net.d"),
    cniNetwork: flag(args, "network") ?? "podnet",
    cniMode: cniMode as "bridge" | "ptp",
    stateDir,
    bgpStateDir: bgpStateDir(args, stateDir, backend),
    leaseTtlSeconds: seconds(args, "lease-ttl", 60, 5, 86400),
    blockGraceSeconds: seconds(args, "block-grace", 3600, 5, 30 * 86400),
    resyncSeconds: seconds(args, "resync", 10, 1, 3600),
    addressCheckSeconds: 1,
    proxy: proxyOptions(args, seconds(args, "resync", 10, 1, 3600)),
    ...clusterDnsFlags(args, readResolvConf),
  };
  if (agentOptions.dns && agentOptions.dns.upstreams.length === 0)
    log.warn("node-local DNS has no upstream resolver: names outside the cluster are refused", {
      resolvConf: NODE_RESOLV_CONF,
    });
  const avoid = flagList(args, "avoid");
  const refuseOverlaps = (config: ClusterConfig, what: string) => {
    const overlaps = planOverlaps(config, uplink.connected, avoid);
    if (overlaps.length === 0) return;
    for (const o of overlaps) {
      log.error("address plan overlap", {
        a: `${o.a.kind} ${formatPrefix(o.a.cidr)}`,
        b: `${o.b.kind} ${formatPrefix(o.b.cidr)}`,
        overlap: formatPrefix(o.overlap),
      });
    }
    throw new Error(
      `refusing to start: ${what} has ${overlaps.length} overlap(s) (see above; "podnet plan" shows them)`,
    );
  };
  const proposed =
    clusterCidrs.length > 0
      ? buildClusterConfig({
          clusterCidrs,
          ...(serviceCidrs.length > 0 ? { serviceCidrs } : {}),
          ...(nodeBlocks.length > 0 ? { nodeBlockLength: parseNodeBlocks(nodeBlocks, clusterCidrs) } : {}),
          ...(maxPods !== undefined ? { maxPodsPerNode: parseMaxPods(maxPods) } : {}),
        })
      : undefined;
  // A bad plan is refused before it is written: the first agent's config becomes everyone's.
  if (proposed) refuseOverlaps(proposed, "the proposed address plan");

  const stopped = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  let stopSignal: string | undefined;
  void stopped.then((s) => {
    stopSignal = s;
  });
  // Nodes boot before their datastore is reachable, or while it is busy: keep trying (with
  // backoff, until stopped) instead of exiting, as a daemon under a supervisor should.
  for (let delayMs = 1000; ; delayMs = Math.min(delayMs * 2, 10_000)) {
    try {
      return await runAgent(
        datastore,
        proposed,
        clusterCidrs,
        refuseOverlaps,
        agentOptions,
        metrics,
        log,
        stopped,
      );
    } catch (e) {
      if (!(e instanceof DatastoreUnavailableError) || stopSignal) throw e;
      log.warn("datastore unavailable at start; retrying", { error: e, retryInMs: delayMs });
      const signal = await Promise.race([stopped, Bun.sleep(delayMs).then(() => undefined)]);
      if (signal) return 0;
    }
  }
}

async function runAgent(
  datastore: string,
  proposed: ClusterConfig | undefined,
  clusterCidrs: readonly string[],
  refuseOverlaps: (config: ClusterConfig, what: string) => void,
  agentOptions: AgentOptions,
  metrics: ListenAddress | undefined,
  log: Logger,
  stopped: Promise<string>,
): Promise<number> {
  const store = await openStore(datastore);
  let agent: Agent | undefined;
  let server: MetricsServer | undefined;
  try {
    let config = await readClusterConfig(store);
    if (!config) {
      if (!proposed)
        throw new UsageError(`the datastore holds no cluster config yet: give --cluster-cidr to create it`);
      config = await initClusterConfig(store, proposed);
      log.info("cluster config", {
        clusterCidrs: config.clusterCidrs.map(formatPrefix),
        serviceCidrs: config.serviceCidrs.map(formatPrefix),
      });
    } else if (clusterCidrs.length > 0) {
      const have = config.clusterCidrs.map(formatPrefix).join(",");
      if (clusterCidrs.join(",") !== have)
        log.warn("--cluster-cidr ignored: the cluster already has its config", { clusterCidrs: have });
    }
    refuseOverlaps(config, "the cluster's address plan on this node");
    agent = new Agent(store, config, agentOptions, log);
    if (metrics) server = serveMetrics(agent.metrics, metrics, log);
    await agent.start();
    log.info("agent running", {
      backend: agentOptions.backend,
      uplink: agentOptions.uplink,
      dns: agentOptions.dns
        ? {
            address: agentOptions.dns.address,
            upstreams: agentOptions.dns.upstreams,
            domain: agentOptions.clusterDomain,
          }
        : "off",
      blocks: agent.leasedBlocks.map(formatPrefix),
    });
    const signal = await stopped;
    log.info("stopping", { signal });
    return 0;
  } finally {
    await agent?.stop();
    server?.stop();
    await store.close();
  }
}

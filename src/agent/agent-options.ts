/** The node agent's settings (from `podnet agent`'s flags). */
import type { Backend } from "../cluster/node-record.ts";
import type { ProxyOptions } from "../proxy/service-proxy.ts";
import type { ClusterDnsOptions } from "./cluster-dns-options.ts";

export interface AgentOptions {
  readonly nodeName: string;
  readonly backend: Backend;
  readonly uplink: string;
  readonly cniConfDir: string;
  readonly cniNetwork: string;
  /** How pods attach on this node (the plugin's mode in the written conflist). */
  readonly cniMode: "bridge" | "ptp";
  /** IPAM state and the readiness marker live here (default /run/podnet). */
  readonly stateDir: string;
  /**
   * The node's BIRD files (config, control socket, pid, router id), default STATE/bgp; short
   * enough for the control socket's path (a UNIX socket path holds at most 107 bytes).
   */
  readonly bgpStateDir: string;
  /** TTL of the node's liveness lease (its record): peers drop its routes this long after it dies. */
  readonly leaseTtlSeconds: number;
  /**
   * TTL of the lease its blocks hang on: the grace period. A node gone (or cut off) for less
   * keeps its blocks, so its pods keep their addresses; past it, the blocks are released.
   */
  readonly blockGraceSeconds: number;
  readonly resyncSeconds: number;
  /** How often the uplink's addresses are compared with what was announced. */
  readonly addressCheckSeconds: number;
  /** The service proxy's settings; undefined runs the agent without it (another proxy is used). */
  readonly proxy: ProxyOptions | undefined;
  /** The cluster domain Services are named under ("cluster.local"); pods' search path ends in it. */
  readonly clusterDomain: string;
  /** The node-local DNS server; undefined runs the agent without it (pods get no dns in the conflist). */
  readonly dns: ClusterDnsOptions | undefined;
}

/**
 * The command line of `podnet agent` as the lab starts it in a node namespace — and the
 * integration tests and the cluster benchmark too, so all three run the agent the same way and a
 * new agent flag is added in one place. Settings left out are not passed: the agent's own
 * default applies (`podnet agent --help`).
 */
import type { Backend } from "../cluster/node-record.ts";

export interface AgentCommandLine {
  /** The podnet executable. */
  readonly exe: string;
  readonly nodeName: string;
  readonly datastore: string;
  readonly backend: Backend;
  readonly uplink: string;
  /** One per family, primary first (--cluster-cidr, repeated). */
  readonly clusterCidrs: readonly string[];
  /** One per family, primary first (--service-cidr, repeated; the agent's default is 10.96.0.0/12). */
  readonly serviceCidrs?: readonly string[];
  readonly cniConfDir: string;
  readonly cniMode?: "bridge" | "ptp";
  readonly network: string;
  readonly stateDir: string;
  readonly leaseTtlSeconds?: number;
  readonly blockGraceSeconds?: number;
  readonly resyncSeconds?: number;
  readonly metricsAddr?: string;
  /** The cluster domain (--cluster-domain; the agent's default is cluster.local). */
  readonly clusterDomain?: string;
  /** The node-local DNS address, or "none" (--dns-address; the agent's default is 169.254.20.10). */
  readonly dnsAddress?: string;
  /** Upstream resolvers for outside names (--dns-upstream, repeated; default: the node's resolv.conf). */
  readonly dnsUpstreams?: readonly string[];
  /** Flags passed through as they are, after the others. */
  readonly extraArgs?: readonly string[];
}

export function agentCommandLine(o: AgentCommandLine): string[] {
  const optional = (flag: string, value: string | number | undefined): string[] =>
    value === undefined ? [] : [flag, String(value)];
  return [
    o.exe,
    "agent",
    "--node-name",
    o.nodeName,
    "--datastore",
    o.datastore,
    "--backend",
    o.backend,
    "--uplink",
    o.uplink,
    ...o.clusterCidrs.flatMap((c) => ["--cluster-cidr", c]),
    ...(o.serviceCidrs ?? []).flatMap((c) => ["--service-cidr", c]),
    "--cni-conf-dir",
    o.cniConfDir,
    ...optional("--cni-mode", o.cniMode),
    "--network",
    o.network,
    "--state-dir",
    o.stateDir,
    ...optional("--lease-ttl", o.leaseTtlSeconds),
    ...optional("--block-grace", o.blockGraceSeconds),
    ...optional("--resync", o.resyncSeconds),
    ...optional("--metrics-addr", o.metricsAddr),
    ...optional("--cluster-domain", o.clusterDomain),
    ...optional("--dns-address", o.dnsAddress),
    ...(o.dnsUpstreams ?? []).flatMap((u) => ["--dns-upstream", u]),
    ...(o.extraArgs ?? []),
  ];
}

/**
 * What this node answers to a diagnosis request (cluster/diagnosis-protocol.ts NodeFacts): its
 * links, routes, neighbours, VXLAN forwarding entries, the sysctls that decide forwarding, the
 * proxy's live nft tables (`ip podnet` or `ip podnet-b`, whichever has base chains, and the IPv6
 * one tagged "ip6"; one without base chains only listed, linux/nft-facts.ts readProxyTable), the
 * plugin's pod rows checked against what is really inside each pod's namespace, allocations and
 * recent releases, conntrack entries naming the request's addresses, and the FIB lookups the
 * request asks for. Every part is read on its own: one that fails is named in `errors` and the
 * rest is still answered — a partial answer beats none when the node itself is what is broken.
 */

import { errorText } from "../base/error-text.ts";
import type {
  AllocationFact,
  DiagnosisRequest,
  NftFacts,
  NodeFacts,
  NodePodFact,
  ReleaseFact,
  RouteLookupFact,
} from "../cluster/diagnosis-protocol.ts";
import { DEFAULT_BRIDGE } from "../cni/conflist.ts";
import { formatIP } from "../ipnet/address.ts";
import { listConntrack } from "../linux/conntrack-list.ts";
import type { InterfaceFact } from "../linux/kernel-facts.ts";
import { readInterfaces } from "../linux/link-facts.ts";
import { readFdb, readNeighbours } from "../linux/neighbour-facts.ts";
import { readProxyTable } from "../linux/nft-facts.ts";
import { lookupRoute, readRoutes } from "../linux/route-facts.ts";
import { hostVethAlias, NodeState } from "../node-state/node-state.ts";
import type { BgpStatus } from "./bgp-status.ts";
import { BirdStateDir } from "./bird-state-dir.ts";
import { mergeNft } from "./merge-nft.ts";
import { nodeBgpFact } from "./node-bgp-fact.ts";
import { forwardingSysctlKeys, readSysctl, readSysctls } from "./node-sysctls.ts";
import { partialAnswer } from "./partial-answer.ts";
import { VXLAN_DEV } from "./vxlan-device.ts";

/** The kernel readers node facts are made of (linux/*-facts.ts); tests pass fakes. */
export interface KernelReaders {
  readonly readInterfaces: typeof readInterfaces;
  readonly readRoutes: typeof readRoutes;
  readonly lookupRoute: typeof lookupRoute;
  readonly readNeighbours: typeof readNeighbours;
  readonly readFdb: typeof readFdb;
  readonly listConntrack: typeof listConntrack;
  readonly readProxyTable: typeof readProxyTable;
  /** A sysctl of this namespace, or undefined when it does not exist (no bridge module, no device). */
  readonly readSysctl: (key: string) => string | undefined;
}

export const KERNEL_READERS: KernelReaders = {
  readInterfaces,
  readRoutes,
  lookupRoute,
  readNeighbours,
  readFdb,
  listConntrack,
  readProxyTable,
  readSysctl,
};

/** What the agent knows of itself, and where its state is. */
export interface NodeFactsContext {
  readonly nodeName: string;
  readonly backend: string;
  readonly uplink: string;
  /** The plugin's data dir (node-state). */
  readonly stateDir: string;
  /** The CNI network whose pods the agent publishes. */
  readonly cniNetwork: string;
  readonly bridge?: string;
  readonly nodeIPs: () => readonly string[];
  /** The node's blocks ("10.244.1.0/24"). */
  readonly blocks: () => readonly string[];
  /** The agent's BGP speaker's status, when it has a speaker (agent-bgp.ts). */
  readonly bgp?: () => BgpStatus | undefined;
  /** The BGP speaker's state dir (BIRD's control socket is in it). */
  readonly bgpStateDir?: string;
  readonly readers?: KernelReaders;
  readonly now?: () => Date;
}

/** Conntrack entries reported per request (the CLI shows a handful; a busy node has thousands). */
export const CONNTRACK_LIMIT = 256;
/**
 * The proxy's tables (proxy/table-inputs.ts: the IPv4 one always, the IPv6 one when the cluster
 * has IPv6), each live under `podnet` or `podnet-b` (linux/nft-table-family.ts). The IPv6 one is
 * read when the node holds an IPv6 block.
 */
const EMPTY_NFT: NftFacts = { tables: [], sets: [], chains: [] };

/** A namespace path from the node state, checked before it reaches a command line. */
export function usableNetnsPath(path: string | undefined): string | undefined {
  if (path === undefined || !path.startsWith("/") || path.includes("\0") || path.split("/").includes(".."))
    return undefined;
  return path;
}

interface StateFacts {
  readonly pods: Omit<NodePodFact, "hostVeth" | "inside" | "insideError">[];
  readonly allocations: AllocationFact[];
  readonly releases: ReleaseFact[];
}

function readState(ctx: NodeFactsContext, errors: string[]): StateFacts {
  let state: NodeState;
  try {
    state = NodeState.open(ctx.stateDir);
  } catch (e) {
    errors.push(`node state: ${errorText(e)}`);
    return { pods: [], allocations: [], releases: [] };
  }
  try {
    const pods: StateFacts["pods"] = [];
    try {
      const { rows, problems } = state.listPods(ctx.cniNetwork, { withRecordedAt: true });
      for (const p of problems) errors.push(`node state: ${p}`);
      for (const r of rows)
        pods.push({
          network: r.network,
          namespace: r.namespace,
          name: r.name,
          containerId: r.containerId,
          ifname: r.ifname,
          ...(r.netns !== undefined ? { netns: r.netns } : {}),
          ips: r.ips,
          recordedAt: new Date(r.recordedAt ?? 0).toISOString(),
        });
    } catch (e) {
      errors.push(`node state pods: ${errorText(e)}`);
    }
    let allocations: AllocationFact[] = [];
    try {
      allocations = state.listAll().map((a) => ({
        network: a.network,
        ip: formatIP(a.ip),
        containerId: a.containerId,
        ifname: a.ifname,
        allocatedAt: a.allocatedAt !== undefined ? new Date(a.allocatedAt).toISOString() : "",
      }));
    } catch (e) {
      errors.push(`node state allocations: ${errorText(e)}`);
    }
    let releases: ReleaseFact[] = [];
    try {
      releases = state.listReleases().map((r) => ({
        network: r.network,
        ip: r.ip,
        containerId: r.containerId,
        ifname: r.ifname,
        ...(r.namespace !== undefined ? { namespace: r.namespace } : {}),
        ...(r.name !== undefined ? { name: r.name } : {}),
        releasedAt: new Date(r.releasedAt).toISOString(),
      }));
    } catch (e) {
      errors.push(`node state releases: ${errorText(e)}`);
    }
    return { pods, allocations, releases };
  } finally {
    state.close();
  }
}

async function podFact(
  readers: KernelReaders,
  pod: StateFacts["pods"][number],
  interfaces: readonly InterfaceFact[],
): Promise<NodePodFact> {
  const alias = hostVethAlias({ network: pod.network, containerId: pod.containerId, ifname: pod.ifname });
  const hostVeth = interfaces.find((i) => i.alias === alias)?.name;
  const base: NodePodFact = { ...pod, ...(hostVeth !== undefined ? { hostVeth } : {}) };
  const netnsPath = usableNetnsPath(pod.netns);
  if (netnsPath === undefined)
    return {
      ...base,
      insideError:
        pod.netns === undefined
          ? "the pod row names no network namespace (written before podnet recorded it)"
          : `the recorded network namespace ${JSON.stringify(pod.netns)} is not an absolute path`,
    };
  try {
    const [links, routes] = await Promise.all([
      readers.readInterfaces({ netnsPath, dev: pod.ifname }),
      readers.readRoutes({ netnsPath }),
    ]);
    const link = links.find((l) => l.name === pod.ifname);
    if (link === undefined) return { ...base, insideError: `no interface "${pod.ifname}" in ${netnsPath}` };
    return { ...base, inside: { mac: link.mac, addresses: link.addresses, routes } };
  } catch (e) {
    return { ...base, insideError: errorText(e) };
  }
}

/**
 * Collects the node's facts for `request`; never throws for what the node cannot read (that
 * goes to `errors`).
 */
export async function gatherNodeFacts(ctx: NodeFactsContext, request: DiagnosisRequest): Promise<NodeFacts> {
  const readers = ctx.readers ?? KERNEL_READERS;
  const { errors, attempt } = partialAnswer();
  const bridge = ctx.bridge ?? DEFAULT_BRIDGE;
  const blocks = ctx.blocks();
  const hasV6 = blocks.some((b) => b.includes(":"));
  const [interfaces, routes, neighbours, nft4, nft6, conntrack, routeLookups] = await Promise.all([
    attempt("interfaces", [] as InterfaceFact[], () => readers.readInterfaces()),
    attempt("routes", [], () => readers.readRoutes()),
    attempt("neighbours", [], () => readers.readNeighbours()),
    attempt("nft ip proxy table", EMPTY_NFT, () => readers.readProxyTable("ip")),
    hasV6 ? attempt("nft ip6 proxy table", EMPTY_NFT, () => readers.readProxyTable("ip6")) : EMPTY_NFT,
    request.addresses.length === 0
      ? { entries: [], errors: [] }
      : attempt("conntrack", { entries: [], errors: [] }, () =>
          readers.listConntrack({ addresses: request.addresses, limit: CONNTRACK_LIMIT }),
        ),
    Promise.all(
      request.routeLookups.map(
        async (query): Promise<RouteLookupFact> =>
          attempt(`route lookup ${query.dst}`, { query, error: "lookup failed" }, async () => {
            const r = await readers.lookupRoute(query);
            return {
              query,
              ...(r.route !== undefined ? { route: r.route } : {}),
              ...(r.error !== undefined ? { error: r.error } : {}),
            };
          }),
      ),
    ),
  ]);
  const hasVxlan = interfaces.some((i) => i.name === VXLAN_DEV);
  const fdb = hasVxlan ? await attempt(`fdb ${VXLAN_DEV}`, [], () => readers.readFdb(VXLAN_DEV)) : [];
  const state = readState(ctx, errors);
  const pods = await Promise.all(state.pods.map((p) => podFact(readers, p, interfaces)));
  const sysctls = readSysctls(readers, forwardingSysctlKeys(ctx.uplink, bridge), errors);
  const now = ctx.now?.() ?? new Date();
  const bgpStatus = ctx.bgp?.();
  const ctl = ctx.bgpStateDir === undefined ? undefined : new BirdStateDir(ctx.bgpStateDir).ctl;
  return {
    node: ctx.nodeName,
    collectedAt: now.toISOString(),
    agent: { backend: ctx.backend, uplink: ctx.uplink, nodeIPs: [...ctx.nodeIPs()], blocks: [...blocks] },
    interfaces,
    routes,
    neighbours,
    fdb,
    sysctls,
    nft: mergeNft(nft4, nft6),
    pods,
    allocations: state.allocations,
    releases: state.releases,
    conntrack: conntrack.entries,
    routeLookups,
    ...(bgpStatus === undefined ? {} : { bgp: nodeBgpFact(ctx.nodeName, bgpStatus, ctl, now) }),
    errors: [...errors, ...conntrack.errors],
  };
}

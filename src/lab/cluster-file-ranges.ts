/**
 * The pod and Service ranges of a cluster file (pure): one per lab family, in the lab's order,
 * held to the agent's own rules (ipam/cluster-config.ts) and to the lab's layout before any
 * namespace exists. A range the agent refuses would otherwise show only as an agent that never
 * gets ready; a range inside the underlay, or one holding the node-local DNS address, would
 * misroute silently.
 */
import { defaultDnsAddress, dnsAddressRange } from "../agent/cluster-dns-options.ts";
import { blockCapacity } from "../ipam/block-allocator.ts";
import { buildClusterConfig, type ClusterConfig } from "../ipam/cluster-config.ts";
import { ClusterConfigError } from "../ipam/cluster-errors.ts";
import type { Family } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";
import { ipFamilyName } from "../k8s/service-model.ts";
import { ClusterFileError } from "./cluster-file-error.ts";
import { LAB_CLUSTER_CIDRS, LAB_SERVICE_CIDRS } from "./lab-families.ts";
import type { Segment } from "./topology.ts";
import { segmentCidrs } from "./topology.ts";

/** A list of ranges and the key it was given under (or what it is, for the lab's defaults). */
export interface FileRanges {
  readonly key: string;
  /** Canonical text (RFC 5952 for IPv6), one per lab family in the lab's order. */
  readonly cidrs: readonly string[];
}

/** A CIDR of the file, or a ClusterFileError naming the field. */
export function prefixOf(text: unknown, field: string): IPPrefix {
  if (typeof text !== "string") throw new ClusterFileError(field, "must be a CIDR");
  try {
    return parsePrefix(text);
  } catch (e) {
    throw new ClusterFileError(`${field} "${text}"`, `is not a CIDR (${(e as Error).message})`);
  }
}

/** The lab's families and where they came from, for messages: "dual, from --ip-family". */
export interface LabFamilies {
  readonly families: readonly Family[];
  readonly source: string;
}

/**
 * `single` or `plural` as a CIDR or a list of them (clusterCidr: a string or a list;
 * clusterCidrs: a list), one per lab family in its order; undefined when the file gives neither
 * (the lab's defaults of its families apply).
 */
export function cidrList(
  doc: Record<string, unknown>,
  single: string,
  plural: string,
  lab: LabFamilies,
): FileRanges | undefined {
  if (doc[single] !== undefined && doc[plural] !== undefined)
    throw new ClusterFileError(single, `and ${plural} cannot both be given`);
  const key = doc[single] !== undefined ? single : plural;
  const v = doc[key];
  if (v === undefined) return undefined;
  const list = typeof v === "string" && key === single ? [v] : v;
  if (!Array.isArray(list) || list.length === 0) throw new ClusterFileError(key, "must list CIDRs");
  const prefixes = list.map((c, i) => prefixOf(c, `${key}[${i}]`));
  const have = prefixes.map((p) => p.family);
  if (have.join() !== lab.families.join())
    throw new ClusterFileError(
      key,
      `must give one range per family of the lab (${lab.source}), in its order (${lab.families.map(ipFamilyName).join(", ")}), not ${have.map(ipFamilyName).join(", ")}: list one per family in the file, or leave ${key} out for the lab's defaults`,
    );
  return { key, cidrs: prefixes.map(formatPrefix) };
}

/** The agent's ClusterConfig of these ranges, its refusal named after the file's key. */
function agentConfig(cluster: FileRanges, service: FileRanges): ClusterConfig {
  try {
    return buildClusterConfig({ clusterCidrs: cluster.cidrs, serviceCidrs: service.cidrs });
  } catch (e) {
    if (!(e instanceof ClusterConfigError)) throw e;
    if (e.what === "service CIDR") throw new ClusterFileError(`${service.key} "${e.value}"`, e.reason);
    if (e.what === "cluster CIDR") throw new ClusterFileError(`${cluster.key} "${e.value}"`, e.reason);
    throw new ClusterFileError(cluster.key, `is refused by the agent: ${e.message}`);
  }
}

/**
 * Checks the lab's pod and Service ranges (the file's, or the lab's defaults of its families):
 * the agent's rules (special ranges, overlaps, sizes), a node block of each family for every
 * node, no overlap with a segment, and the agent's node-local DNS address in none of them.
 */
export function checkLabRanges(o: {
  readonly families: readonly Family[];
  readonly cluster: FileRanges | undefined;
  readonly service: FileRanges | undefined;
  readonly segments: readonly Segment[];
  readonly nodeCount: number;
}): void {
  const cluster = o.cluster ?? {
    key: "the lab's default cluster CIDR",
    cidrs: o.families.map((f) => LAB_CLUSTER_CIDRS[f]),
  };
  const service = o.service ?? {
    key: "the lab's default service CIDR",
    cidrs: o.families.map((f) => LAB_SERVICE_CIDRS[f]),
  };
  const config = agentConfig(cluster, service);
  for (const f of o.families) {
    const capacity = blockCapacity(config, f);
    if (capacity.blocks < BigInt(o.nodeCount)) {
      const cidrs = config.clusterCidrs.filter((c) => c.family === f).map(formatPrefix);
      const blocks = `${capacity.blocks} /${capacity.blockLength} node block${capacity.blocks === 1n ? "" : "s"}`;
      throw new ClusterFileError(
        `${cluster.key} "${cidrs.join(", ")}"`,
        `has room for ${blocks}, fewer than the ${o.nodeCount} nodes (each takes one per family)`,
      );
    }
  }
  const ranges = [cluster, service].flatMap((r) => r.cidrs.map((cidr) => ({ key: r.key, cidr })));
  for (const r of ranges) {
    const prefix = parsePrefix(r.cidr);
    for (const seg of o.segments)
      for (const c of segmentCidrs(seg))
        if (prefixesOverlap(prefix, parsePrefix(c)))
          throw new ClusterFileError(
            `${r.key} "${r.cidr}"`,
            `overlaps segment "${seg.name}" (${c}): pod and Service addresses cannot be underlay addresses`,
          );
  }
  // The agent's default (the lab passes no --dns-address), held by every node.
  const dns = defaultDnsAddress(cluster.cidrs);
  const holder = dnsAddressRange(dns, config);
  if (holder)
    throw new ClusterFileError(
      `${holder.kind === "cluster CIDR" ? cluster.key : service.key} "${holder.cidr}"`,
      `holds the node-local DNS address ${dns}, which every node holds itself: choose a range without it`,
    );
}

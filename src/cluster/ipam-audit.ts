/**
 * `podnet ipam show` and `podnet ipam check` as pure computations over what the datastore holds:
 * the cluster config, the block leases, the live node records and the nodes' IPAM reports.
 */

import { blockCapacity } from "../ipam/block-allocator.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { podsPerBlock } from "../ipam/node-block-length.ts";
import { parseIP } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { containsIP, containsPrefix, formatPrefix, parsePrefix, prefixesOverlap } from "../ipnet/prefix.ts";
import type { BlockLease } from "./block-leases.ts";
import type { IpamReport } from "./ipam-report.ts";
import type { NodeRecord } from "./node-record.ts";

export interface IpamView {
  readonly config: ClusterConfig;
  readonly leases: readonly BlockLease[];
  readonly nodes: readonly NodeRecord[];
  readonly reports: readonly IpamReport[];
}

export interface CidrUsage {
  readonly cidr: string;
  readonly blockLength: number;
  readonly totalBlocks: bigint;
  readonly usedBlocks: number;
  readonly freeBlocks: bigint;
}

export interface BlockRow {
  readonly block: string;
  readonly node: string;
  readonly nodeAlive: boolean;
  readonly total: bigint;
  /** Undefined when the node has not reported (yet). */
  readonly used: number | undefined;
  readonly free: bigint | undefined;
  readonly orphaned: number | undefined;
}

export interface IpamSummary {
  readonly cidrs: readonly CidrUsage[];
  readonly blocks: readonly BlockRow[];
}

function cidrTotalBlocks(cidr: IPPrefix, blockLength: number): bigint {
  return 1n << BigInt(blockLength - cidr.length);
}

export function summarizeIpam(view: IpamView): IpamSummary {
  const cidrs = view.config.clusterCidrs.map((cidr) => {
    const length = blockCapacity(view.config, cidr.family).blockLength;
    const total = cidrTotalBlocks(cidr, length);
    const used = view.leases.filter((l) => containsPrefix(cidr, l.block)).length;
    return {
      cidr: formatPrefix(cidr),
      blockLength: length,
      totalBlocks: total,
      usedBlocks: used,
      freeBlocks: total - BigInt(used),
    };
  });
  const alive = new Set(view.nodes.map((n) => n.name));
  const blocks = view.leases.map((l) => {
    const usage = view.reports
      .find((r) => r.node === l.node)
      ?.blocks.find((b) => b.block === formatPrefix(l.block));
    const total = podsPerBlock(l.block.family, l.block.length);
    return {
      block: formatPrefix(l.block),
      node: l.node,
      nodeAlive: alive.has(l.node),
      total,
      used: usage?.allocated.length,
      free: usage ? total - BigInt(usage.allocated.length) : undefined,
      orphaned: usage?.orphaned.length,
    };
  });
  return { cidrs, blocks };
}

export type ProblemKind =
  | "duplicate-address"
  | "allocation-without-pod"
  | "allocation-outside-block"
  | "block-without-live-node"
  | "block-outside-cluster"
  | "overlapping-blocks"
  | "node-without-report";

export interface IpamProblem {
  readonly kind: ProblemKind;
  readonly message: string;
}

export function checkIpam(view: IpamView): IpamProblem[] {
  const problems: IpamProblem[] = [];
  const alive = new Set(view.nodes.map((n) => n.name));
  const owners = new Map<string, string[]>();
  for (const r of view.reports) {
    for (const b of r.blocks) {
      const block = parsePrefix(b.block);
      for (const ip of b.allocated) {
        owners.set(ip, [...(owners.get(ip) ?? []), r.node]);
        if (!containsIP(block, parseIP(ip))) {
          problems.push({
            kind: "allocation-outside-block",
            message: `${ip} on ${r.node} is outside its block ${b.block}`,
          });
        }
      }
      for (const ip of b.orphaned) {
        problems.push({
          kind: "allocation-without-pod",
          message: `${ip} in ${b.block} on ${r.node} is allocated but its pod has no interface (leak)`,
        });
      }
    }
    for (const ip of r.outside) {
      problems.push({
        kind: "allocation-outside-block",
        message: `${ip} on ${r.node} is outside every block the node holds`,
      });
    }
  }
  for (const [ip, nodes] of owners) {
    if (nodes.length > 1)
      problems.push({ kind: "duplicate-address", message: `${ip} is allocated on ${nodes.join(" and ")}` });
  }
  for (const l of view.leases) {
    if (!alive.has(l.node)) {
      problems.push({
        kind: "block-without-live-node",
        message: `block ${formatPrefix(l.block)} is leased to ${l.node}, which has no live node record`,
      });
    }
    if (!view.config.clusterCidrs.some((c) => containsPrefix(c, l.block))) {
      problems.push({
        kind: "block-outside-cluster",
        message: `block ${formatPrefix(l.block)} of ${l.node} is in no cluster CIDR`,
      });
    }
  }
  for (let i = 0; i < view.leases.length; i++) {
    for (let j = i + 1; j < view.leases.length; j++) {
      const a = view.leases[i] as BlockLease;
      const b = view.leases[j] as BlockLease;
      if (prefixesOverlap(a.block, b.block)) {
        problems.push({
          kind: "overlapping-blocks",
          message: `blocks ${formatPrefix(a.block)} (${a.node}) and ${formatPrefix(b.block)} (${b.node}) overlap`,
        });
      }
    }
  }
  for (const n of view.nodes) {
    if (!view.reports.some((r) => r.node === n.name)) {
      problems.push({
        kind: "node-without-report",
        message: `node ${n.name} has not reported its allocations`,
      });
    }
  }
  return problems;
}

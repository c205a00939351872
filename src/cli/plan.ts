/**
 * `podnet plan`: the capacity of an address plan and every overlap in it, checked before a
 * cluster is created. Exits 1 when any two ranges overlap, so scripts can gate on it.
 */

import { type AddressPlan, type Overlap, planAddresses, type RangeKind } from "../ipam/address-plan.ts";
import { familyKey, type PerFamily, parseBlockLength } from "../ipam/node-block-length.ts";
import { serviceIPBands } from "../ipam/service-ip-allocator.ts";
import type { Family } from "../ipnet/address.ts";
import { formatPrefix } from "../ipnet/prefix.ts";
import { formatRange } from "../ipnet/range.ts";
import type { ParsedArgs } from "./args.ts";
import { assertKnownFlags, flag, flagList, UsageError } from "./args.ts";

export const PLAN_USAGE =
  "podnet plan --cluster-cidr CIDR [--cluster-cidr CIDR6] [--node-block /24 | --node-block v4=/24 --node-block v6=/64 | --max-pods N] [--service-cidr CIDR ...] [--node-network CIDR ...] [--avoid CIDR ...] [--json]";

export interface PlanIO {
  out: (line: string) => void;
  err: (line: string) => void;
}

const CONSOLE_IO: PlanIO = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** `--node-block`: a bare length for a single-stack plan, `v4=/24` / `v6=/64` per family. */
export function parseNodeBlocks(
  values: readonly string[],
  clusterCidrs: readonly string[],
): PerFamily<number> {
  const families = [...new Set(clusterCidrs.map((c): Family => (c.includes(":") ? 6 : 4)))];
  const result: { ipv4?: number; ipv6?: number } = {};
  for (const value of values) {
    const match = /^(?:(v4|v6|ipv4|ipv6)=)?(.*)$/.exec(value)!;
    let family: Family;
    if (match[1] !== undefined) family = match[1].endsWith("4") ? 4 : 6;
    else if (families.length === 1) family = families[0]!;
    else {
      throw new UsageError(
        `--node-block "${value}": a dual-stack plan needs one per family, e.g. --node-block v4=/24 --node-block v6=/64`,
      );
    }
    const key = familyKey(family);
    if (result[key] !== undefined) throw new UsageError(`--node-block given twice for IPv${family}`);
    result[key] = parseBlockLength(match[2]!, `--node-block for IPv${family}`);
  }
  return result;
}

export function parseMaxPods(text: string): number {
  if (!/^[1-9][0-9]*$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--max-pods "${text}" must be a positive integer`);
  }
  return Number(text);
}

function grouped(n: bigint): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** JSON has no bigint: exact numbers where they are safe, decimal strings beyond. */
function jsonCount(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
}

const KIND_NAME: Record<RangeKind, string> = {
  pod: "pod range",
  service: "service range",
  node: "node network",
  avoid: "avoided range",
};

export function describeOverlap(o: Overlap): string {
  return `${KIND_NAME[o.a.kind]} "${formatPrefix(o.a.cidr)}" overlaps ${KIND_NAME[o.b.kind]} "${formatPrefix(o.b.cidr)}" in ${formatPrefix(o.overlap)}`;
}

function families(plan: AddressPlan): Family[] {
  return ([4, 6] as const).filter((f) => plan.nodeBlockLength[familyKey(f)] !== undefined);
}

function staticBandText(plan: AddressPlan, index: number): string | null {
  const band = serviceIPBands(plan.serviceCidrs[index]!).staticBand;
  return band === undefined ? null : formatRange(band);
}

function planJSON(plan: AddressPlan): unknown {
  return {
    ok: plan.overlaps.length === 0,
    clusterCidrs: plan.clusterCidrs.map(formatPrefix),
    serviceCidrs: plan.serviceCidrs.map(formatPrefix),
    nodeNetworks: plan.nodeNetworks.map(formatPrefix),
    avoid: plan.avoid.map(formatPrefix),
    families: families(plan).map((f) => {
      const key = familyKey(f);
      const nodes = plan.nodes[key]!;
      const pods = plan.podsPerNode[key]!;
      return {
        family: key,
        nodeBlockLength: plan.nodeBlockLength[key]!,
        nodes: jsonCount(nodes),
        podsPerNode: jsonCount(pods),
        pods: jsonCount(nodes * pods),
      };
    }),
    services: plan.serviceCidrs.map((cidr, i) => ({
      cidr: formatPrefix(cidr),
      family: familyKey(cidr.family),
      clusterIPs: jsonCount(plan.serviceIPs[familyKey(cidr.family)]!),
      staticBand: staticBandText(plan, i),
    })),
    overlaps: plan.overlaps.map((o) => ({
      a: { kind: o.a.kind, cidr: formatPrefix(o.a.cidr) },
      b: { kind: o.b.kind, cidr: formatPrefix(o.b.cidr) },
      overlap: formatPrefix(o.overlap),
      message: describeOverlap(o),
    })),
    warnings: plan.warnings,
  };
}

function planText(plan: AddressPlan, io: PlanIO): void {
  const podRows = families(plan).map((f) => {
    const key = familyKey(f);
    const nodes = plan.nodes[key]!;
    const pods = plan.podsPerNode[key]!;
    const cidrs = plan.clusterCidrs.filter((c) => c.family === f).map(formatPrefix);
    return [
      `IPv${f}`,
      cidrs.join(", "),
      `/${plan.nodeBlockLength[key]}`,
      grouped(nodes),
      grouped(pods),
      grouped(nodes * pods),
    ];
  });
  for (const line of table([
    ["family", "cluster CIDRs", "node block", "nodes", "pods per node", "pods"],
    ...podRows,
  ]))
    io.out(line);
  io.out("");
  const serviceRows = plan.serviceCidrs.map((cidr, i) => {
    const band = staticBandText(plan, i);
    return [
      formatPrefix(cidr),
      `IPv${cidr.family}`,
      grouped(plan.serviceIPs[familyKey(cidr.family)]!),
      band ?? "none",
    ];
  });
  for (const line of table([["service CIDR", "family", "ClusterIPs", "static band"], ...serviceRows]))
    io.out(line);
  if (plan.nodeNetworks.length > 0 || plan.avoid.length > 0) io.out("");
  if (plan.nodeNetworks.length > 0)
    io.out(`node networks: ${plan.nodeNetworks.map(formatPrefix).join(", ")}`);
  if (plan.avoid.length > 0) io.out(`avoided ranges: ${plan.avoid.map(formatPrefix).join(", ")}`);
  for (const w of plan.warnings) io.err(`warning: ${w.message}`);
  for (const o of plan.overlaps) io.err(`error: ${describeOverlap(o)}`);
  if (plan.overlaps.length > 0) {
    const n = plan.overlaps.length;
    io.err(
      `podnet: the plan has ${n} overlap${n === 1 ? "" : "s"}; change the ranges before creating the cluster`,
    );
  }
}

export function planCommand(args: ParsedArgs, io: PlanIO = CONSOLE_IO): number {
  assertKnownFlags(args, [
    "cluster-cidr",
    "node-block",
    "max-pods",
    "service-cidr",
    "node-network",
    "avoid",
    "json",
  ]);
  if (args.positionals.length > 0)
    throw new UsageError(`unexpected argument "${args.positionals[0]}"\nusage: ${PLAN_USAGE}`);
  const clusterCidrs = flagList(args, "cluster-cidr");
  if (clusterCidrs.length === 0) throw new UsageError(`--cluster-cidr is required\nusage: ${PLAN_USAGE}`);
  const nodeBlocks = flagList(args, "node-block");
  const maxPodsText = flag(args, "max-pods");
  if (nodeBlocks.length > 0 && maxPodsText !== undefined) {
    throw new UsageError("--node-block and --max-pods exclude each other: give one");
  }
  const serviceCidrs = flagList(args, "service-cidr");
  const plan = planAddresses({
    clusterCidrs,
    nodeBlockLength: parseNodeBlocks(nodeBlocks, clusterCidrs),
    ...(maxPodsText !== undefined ? { maxPodsPerNode: parseMaxPods(maxPodsText) } : {}),
    ...(serviceCidrs.length > 0 ? { serviceCidrs } : {}),
    nodeNetworks: flagList(args, "node-network"),
    avoid: flagList(args, "avoid"),
  });
  if (flag(args, "json") !== undefined) io.out(JSON.stringify(planJSON(plan), null, 2));
  else planText(plan, io);
  return plan.overlaps.length > 0 ? 1 : 0;
}

/**
 * Chooses a node's pod block from the cluster CIDRs. Pure: the caller passes the blocks already
 * leased (from the datastore) and commits its choice with a compare-and-swap, retrying on a race.
 * Works on sorted intervals of taken space, never on the list of all blocks, so a /8 of /24s or
 * an IPv6 /32 of /64s costs O(taken · log taken).
 */
import { type Family, ipFromBigint } from "../ipnet/address.ts";
import {
  containsPrefix,
  formatPrefix,
  type IPPrefix,
  lastIP,
  prefixFromIP,
  prefixSize,
} from "../ipnet/prefix.ts";
import { type ClusterConfig, clusterCidrsOf, nodeBlockLengthOf } from "./cluster-config.ts";
import { BlockExhaustedError } from "./cluster-errors.ts";
import { podsPerBlock } from "./node-block-length.ts";

/** An inclusive span of address values. */
type Span = { start: bigint; end: bigint };

/** Taken space of one family as sorted, merged spans. */
function takenSpans(taken: readonly IPPrefix[], family: Family): Span[] {
  const spans = taken
    .filter((p) => p.family === family)
    .map((p) => ({ start: p.network.value, end: lastIP(p).value }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: Span[] = [];
  for (const span of spans) {
    const last = merged[merged.length - 1];
    if (last !== undefined && span.start <= last.end + 1n) {
      if (span.end > last.end) last.end = span.end;
    } else merged.push({ ...span });
  }
  return merged;
}

/** Index of the first span ending at or after `value`. */
function firstSpanFrom(spans: readonly Span[], value: bigint): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]!.end < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function overlapsTaken(spans: readonly Span[], start: bigint, end: bigint): boolean {
  const span = spans[firstSpanFrom(spans, start)];
  return span !== undefined && span.start <= end;
}

/** Why `block` cannot be a node block of this cluster, or undefined if it can. */
export function blockProblem(config: ClusterConfig, block: IPPrefix): string | undefined {
  const cidrs = clusterCidrsOf(config, block.family);
  if (cidrs.length === 0) return `the cluster has no IPv${block.family} cluster CIDR`;
  const length = nodeBlockLengthOf(config, block.family);
  if (block.length !== length)
    return `is a /${block.length}, but IPv${block.family} node blocks are /${length}`;
  if (!cidrs.some((c) => containsPrefix(c, block))) {
    return `is not inside any cluster CIDR (${cidrs.map((c) => `"${formatPrefix(c)}"`).join(", ")})`;
  }
  return undefined;
}

/** The first free block of `cidr`, skipping taken spans by jumping over them. */
function firstFreeIn(cidr: IPPrefix, length: number, spans: readonly Span[]): IPPrefix | undefined {
  const size = prefixSize(prefixFromIP(cidr.network, length));
  const cidrEnd = lastIP(cidr).value;
  let candidate = cidr.network.value;
  let i = firstSpanFrom(spans, candidate);
  while (candidate + size - 1n <= cidrEnd) {
    while (i < spans.length && spans[i]!.end < candidate) i++;
    const span = spans[i];
    if (span === undefined || span.start > candidate + size - 1n) {
      return prefixFromIP(ipFromBigint(cidr.family, candidate), length);
    }
    // Blocks are aligned to their size (the cluster CIDR is aligned to a larger one), so the
    // next candidate is the first aligned value after the taken span.
    candidate = ((span.end + 1n + size - 1n) / size) * size;
  }
  return undefined;
}

/**
 * A free block of `family` for a node: its `previous` block when that is still a valid, free
 * block (a restarted agent keeps its pods' addresses), else the first free block scanning the
 * cluster CIDRs in order. `taken` must not include the node's own current lease.
 */
export function chooseBlock(
  config: ClusterConfig,
  family: Family,
  taken: readonly IPPrefix[],
  previous?: IPPrefix,
): IPPrefix {
  const length = nodeBlockLengthOf(config, family);
  const spans = takenSpans(taken, family);
  if (
    previous !== undefined &&
    previous.family === family &&
    blockProblem(config, previous) === undefined &&
    !overlapsTaken(spans, previous.network.value, lastIP(previous).value)
  ) {
    return previous;
  }
  const cidrs = clusterCidrsOf(config, family);
  for (const cidr of cidrs) {
    const block = firstFreeIn(cidr, length, spans);
    if (block !== undefined) return block;
  }
  throw new BlockExhaustedError(cidrs.map(formatPrefix), length);
}

export interface BlockCapacity {
  readonly family: Family;
  readonly blockLength: number;
  /** How many node blocks the family's cluster CIDRs hold together: the node limit. */
  readonly blocks: bigint;
  readonly addressesPerBlock: bigint;
  /** Addresses of a block pods can have (network, gateway and IPv4 broadcast excluded). */
  readonly podsPerBlock: bigint;
}

export function blockCapacity(config: ClusterConfig, family: Family): BlockCapacity {
  const blockLength = nodeBlockLengthOf(config, family);
  let blocks = 0n;
  for (const cidr of clusterCidrsOf(config, family)) blocks += 1n << BigInt(blockLength - cidr.length);
  const addressesPerBlock = prefixSize(prefixFromIP(ipFromBigint(family, 0n), blockLength));
  return { family, blockLength, blocks, addressesPerBlock, podsPerBlock: podsPerBlock(family, blockLength) };
}

/**
 * Node blocks leased from the cluster CIDRs through the datastore. A block's key holds the owning
 * node's name and is attached to the node's TTL lease: the agent renews it, a restarted agent
 * finds its blocks still held under its name and re-attaches them to its new lease, and the
 * blocks of a node gone longer than the lease TTL (its grace period) disappear with the lease —
 * and only then. Claims are compare-and-swap creations, so two agents never hold one block.
 */

import { blockProblem, chooseBlock } from "../ipam/block-allocator.ts";
import type { ClusterConfig } from "../ipam/cluster-config.ts";
import { clusterFamilies } from "../ipam/cluster-config.ts";
import { BlockExhaustedError } from "../ipam/cluster-errors.ts";
import type { Family } from "../ipnet/address.ts";
import type { IPPrefix } from "../ipnet/prefix.ts";
import { formatPrefix, prefixEquals, prefixesOverlap } from "../ipnet/prefix.ts";
import type { KeyValue, Store } from "../store/store.ts";
import { BLOCKS_PREFIX, blockFromKey, blockKey } from "./keys.ts";

export interface BlockLease {
  readonly node: string;
  readonly block: IPPrefix;
  /** When the node first claimed the block (ISO 8601); records written before it was kept lack it. */
  readonly claimedAt?: string;
}

interface BlockValue {
  readonly node: string;
  readonly block: string;
  readonly claimedAt?: string;
}

export class BlockClaimError extends Error {
  override readonly name = "BlockClaimError";
}

export function parseBlockLease(kv: KeyValue): BlockLease | undefined {
  try {
    const v = JSON.parse(kv.value) as BlockValue;
    if (typeof v.node !== "string") return undefined;
    const block = blockFromKey(kv.key);
    // A time that does not parse is dropped, not trusted: the lease itself is still valid.
    return typeof v.claimedAt === "string" && !Number.isNaN(Date.parse(v.claimedAt))
      ? { node: v.node, block, claimedAt: v.claimedAt }
      : { node: v.node, block };
  } catch {
    return undefined;
  }
}

export async function listBlockLeases(
  store: Store,
): Promise<{ leases: BlockLease[]; kvs: readonly KeyValue[] }> {
  const { kvs } = await store.list(BLOCKS_PREFIX);
  const leases: BlockLease[] = [];
  for (const kv of kvs) {
    const lease = parseBlockLease(kv);
    if (lease) leases.push(lease);
  }
  return { leases, kvs };
}

const MAX_ATTEMPTS = 200;
/** Candidates to pick from at random: many agents starting at once then rarely collide. */
const SPREAD = 16;

function candidates(
  config: ClusterConfig,
  family: Family,
  taken: IPPrefix[],
  previous?: IPPrefix,
): IPPrefix[] {
  const out: IPPrefix[] = [];
  const busy = [...taken];
  for (let i = 0; i < SPREAD; i++) {
    try {
      const b = chooseBlock(config, family, busy, i === 0 ? previous : undefined);
      out.push(b);
      busy.push(b);
      if (i === 0 && previous && prefixEquals(b, previous)) return out; // keep the old block
    } catch (e) {
      if (e instanceof BlockExhaustedError && out.length > 0) break;
      throw e;
    }
  }
  return out;
}

/**
 * Holds one block per cluster family for `node` under `leaseId`: re-attaches blocks the node
 * already holds, otherwise claims a free one (its `previous` block when still free).
 */
export async function claimBlocks(
  store: Store,
  config: ClusterConfig,
  node: string,
  leaseId: string,
  previous: readonly IPPrefix[] = [],
): Promise<IPPrefix[]> {
  // claimedAt is kept across re-attachments, so it says how long the node has held the block.
  const value = (block: IPPrefix, claimedAt: string) =>
    JSON.stringify({ node, block: formatPrefix(block), claimedAt } satisfies BlockValue);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { kvs } = await store.list(BLOCKS_PREFIX);
    const held: IPPrefix[] = [];
    let conflict = false;
    for (const family of clusterFamilies(config)) {
      const mine = kvs.find((kv) => {
        const l = parseBlockLease(kv);
        return (
          l && l.node === node && l.block.family === family && blockProblem(config, l.block) === undefined
        );
      });
      if (mine) {
        const block = blockFromKey(mine.key);
        const claimedAt = parseBlockLease(mine)?.claimedAt ?? new Date().toISOString();
        const r = await store.txn(
          [{ key: mine.key, target: "modRevision", op: "=", value: mine.modRevision }],
          [{ kind: "put", key: mine.key, value: value(block, claimedAt), lease: leaseId }],
        );
        if (!r.succeeded) {
          conflict = true;
          break;
        }
        held.push(block);
        continue;
      }
      const taken = kvs.map((kv) => blockFromKey(kv.key)).filter((b) => b.family === family);
      const choices = candidates(
        config,
        family,
        taken,
        previous.find((p) => p.family === family),
      );
      const block = choices[Math.floor(Math.random() * choices.length)] as IPPrefix;
      if (taken.some((t) => prefixesOverlap(t, block)))
        throw new BlockClaimError(`allocator chose taken block ${formatPrefix(block)}`);
      const r = await store.txn(
        [{ key: blockKey(block), target: "version", op: "=", value: 0 }],
        [
          {
            kind: "put",
            key: blockKey(block),
            value: value(block, new Date().toISOString()),
            lease: leaseId,
          },
        ],
      );
      if (!r.succeeded) {
        conflict = true; // another agent took it between our list and our claim
        break;
      }
      held.push(block);
    }
    if (!conflict) return held;
    // Blocks this attempt already took are ours under this lease; the next round re-attaches them.
    await Bun.sleep(Math.random() * 20);
  }
  throw new BlockClaimError(
    `Cannot claim a block for node "${node}": still contended after ${MAX_ATTEMPTS} attempts`,
  );
}

/**
 * The kernel's answers to an element batch, back to the sets they concern (pure). Every message
 * asks for an acknowledgement (NLM_F_ACK), so each gets exactly one NLMSG_ERROR: errno 0 when
 * accepted. The batch's own BATCH_BEGIN/BATCH_END sequence numbers carry errors about the whole
 * transaction (a failed commit, no memory for the answers).
 */
import type { Reply } from "./codec.ts";
import type { ElementBatch } from "./nft-element-batch.ts";

export interface Refusal {
  /** The set whose message failed; undefined when the kernel refused the batch as a whole. */
  readonly set: string | undefined;
  readonly errno: number;
}

export interface BatchOutcome {
  readonly refusals: readonly Refusal[];
  /** Messages with no answer yet (each carries NLM_F_ACK, so each gets one). */
  readonly unanswered: number;
}

/**
 * Which messages of `batch` the kernel's answers (NLMSG_ERROR: acknowledgement or errno) refused.
 * An error for BATCH_BEGIN or BATCH_END (a failed commit, no memory for the answers) concerns the
 * whole batch.
 */
export function batchOutcome(batch: ElementBatch, replies: readonly Reply[]): BatchOutcome {
  const setOf = new Map<number, string>();
  for (const m of batch.messages) setOf.set(m.seq, m.set);
  const answered = new Set<number>();
  const refusals: Refusal[] = [];
  for (const r of replies) {
    if (r.errno === undefined) continue;
    const set = setOf.get(r.seq);
    if (set !== undefined) answered.add(r.seq);
    else if (r.seq !== batch.beginSeq && r.seq !== batch.endSeq) continue;
    if (r.errno !== 0) refusals.push({ set, errno: r.errno });
  }
  return { refusals, unanswered: batch.messages.length - answered.size };
}

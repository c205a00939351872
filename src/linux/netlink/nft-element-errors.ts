/**
 * What the netlink element loader (nft-element-loader.ts) throws besides ElementSyntaxError (an
 * element text that does not parse, nft-element-types.ts), in two kinds the caller treats apart:
 *
 * - NftElementsRefusedError: the kernel refused a batch. Nothing of that batch was applied; with
 *   several batches, the ones before it were. nft would refuse the same elements.
 * - NftElementsUnavailableError (and its subclasses): netlink could not be used — no libc or
 *   socket, a namespace not enterable, a batch larger than the socket may take, a send or read that
 *   failed, answers missing (whether the kernel applied the batch is then unknown). Nothing says
 *   nft would fail too, so the caller can load the same elements through nft instead (into a table
 *   it rebuilds, since an unknown outcome may have left elements behind).
 */

import type { Refusal } from "./nft-batch-outcome.ts";
import type { NftFamily } from "./nft-element-batch.ts";
import { strerror } from "./socket.ts";

/** Netlink could not be used for these elements; nft can be used instead. */
export class NftElementsUnavailableError extends Error {
  override readonly name: string = "NftElementsUnavailableError";
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`netlink could not be used: ${reason}`, options);
  }
}

/**
 * No netlink socket here (no libc through FFI, socket() refused, the namespace cannot be entered):
 * it will not work later either, so a caller may stop trying for the process's life.
 */
export class NftSocketUnavailableError extends NftElementsUnavailableError {
  override readonly name: string = "NftSocketUnavailableError";
}

/**
 * A batch larger than the socket's buffers could be made: the send buffer must hold the whole
 * batch, the receive buffer every answer to it. SO_SNDBUFFORCE needs CAP_NET_ADMIN in the initial
 * user namespace; without it net.core.wmem_max (rmem_max) bounds them. Smaller batches may fit.
 */
export class NetlinkBatchTooLargeError extends NftElementsUnavailableError {
  override readonly name: string = "NetlinkBatchTooLargeError";
  constructor(
    where: string,
    readonly buffer: "send" | "receive",
    readonly neededBytes: number,
    readonly bufferBytes: number,
  ) {
    super(
      `${where} needs a ${neededBytes}-byte ${buffer} buffer, and the socket could be given only ${bufferBytes} bytes (forcing it needs CAP_NET_ADMIN in the initial user namespace; net.core.${buffer === "send" ? "wmem_max" : "rmem_max"} bounds it otherwise)`,
    );
  }
}

/** Which batches of a load were applied before the refused one. */
export interface BatchPosition {
  /** 1-based number of the refused batch. */
  readonly batch: number;
  readonly of: number;
}

export function appliedBefore(position: BatchPosition | undefined): string {
  if (position === undefined || position.of === 1) return "nothing applied";
  const k = position.batch;
  const done =
    k === 1 ? "no batch before it applied" : k === 2 ? "batch 1 applied" : `batches 1-${k - 1} applied`;
  return `batch ${k} of ${position.of}: ${done}, nothing of batch ${k}`;
}

/** The kernel refused a batch: nothing of it was applied (nor anything after it). */
export class NftElementsRefusedError extends Error {
  override readonly name = "NftElementsRefusedError";
  constructor(
    readonly family: NftFamily,
    readonly table: string,
    readonly refusals: readonly Refusal[],
    /** Where the refused batch stood, for a load in several; undefined for a single batch. */
    readonly position?: BatchPosition,
  ) {
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const r of refusals) {
      const part =
        r.set === undefined
          ? `the element batch for ${family} ${table}: ${strerror(r.errno)}`
          : `set ${r.set} of ${family} ${table}: ${strerror(r.errno)}`;
      if (!seen.has(part)) parts.push(part);
      seen.add(part);
    }
    super(`Kernel refused elements (${appliedBefore(position)}): ${parts.join("; ")}`);
  }

  /** Batches applied before the refusal (the caller's table holds their elements). */
  get appliedBatches(): number {
    return this.position === undefined ? 0 : this.position.batch - 1;
  }
}

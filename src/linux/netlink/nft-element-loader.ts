/**
 * Adds set and map elements to an existing nftables table over netlink: the elements nft would
 * otherwise parse from `elements = { … }` text, which is most of the time of a large `nft -f`. The
 * table and its (empty) sets come from nft; this sends only NEWSETELEM messages, encoded by
 * nft-element-batch.ts, through nft-batch-socket.ts.
 *
 * loadSetElements sends everything as one transaction (all or nothing). loadSetElementsInSteps
 * splits it into transactions of at most 8,192 elements and lets the event loop run between them,
 * so the agent's DNS and CNI answers never wait for more than one (15–40 ms measured on a 2-core
 * machine); a refusal then leaves the batches before it applied, which is why it is meant for a
 * table no packet sees yet.
 *
 * Errors (nft-element-errors.ts): ElementSyntaxError when an element does not parse — thrown before
 * anything is sent; NftElementsRefusedError when the kernel refused a batch; any other failure is
 * an NftElementsUnavailableError ("netlink could not be used"), after which nft can load the same
 * elements: NftSocketUnavailableError (no socket here, nor will there be), NetlinkBatchTooLargeError
 * (the buffers could not be made large enough), or the base class (send failed, answers missing).
 */
import { batchOutcome } from "./nft-batch-outcome.ts";
import { BatchSocket } from "./nft-batch-socket.ts";
import {
  type ElementBatch,
  type ElementLoad,
  encodeElementBatch,
  InvalidNftNameError,
  type NftFamily,
  splitLoads,
} from "./nft-element-batch.ts";
import {
  type BatchPosition,
  NftElementsRefusedError,
  NftElementsUnavailableError,
} from "./nft-element-errors.ts";

export {
  NetlinkBatchTooLargeError,
  NftElementsRefusedError,
  NftElementsUnavailableError,
  NftSocketUnavailableError,
} from "./nft-element-errors.ts";

export interface LoadOptions {
  /** The namespace whose nftables to change (a /run/netns path); our own when absent. */
  readonly netnsPath?: string;
}

export interface StepOptions extends LoadOptions {
  /** Elements per transaction, at most (default 8,192: 15–40 ms of encoding or kernel work each). */
  readonly elementsPerBatch?: number;
}

export interface LoadResult {
  readonly elements: number;
  readonly messages: number;
  readonly bytes: number;
  /** Time spent encoding, and in the kernel (send until the last answer), in milliseconds. */
  readonly encodeMs: number;
  readonly kernelMs: number;
}

export interface StepResult extends LoadResult {
  readonly batches: number;
  /** The longest the thread was held at once: one batch's encoding, or its send and answers. */
  readonly longestStepMs: number;
}

export const DEFAULT_ELEMENTS_PER_BATCH = 8192;

/** Answers to one batch: its messages', and room for BATCH_BEGIN's and BATCH_END's errors. */
const answersOf = (batch: ElementBatch): number => batch.messages.length + 2;

function encode(family: NftFamily, table: string, sets: readonly ElementLoad[], seq: number): ElementBatch {
  try {
    return encodeElementBatch(family, table, sets, seq);
  } catch (e) {
    // A name the encoder will not send: nft may still take it (and says so if not).
    if (e instanceof InvalidNftNameError) throw new NftElementsUnavailableError(e.message, { cause: e });
    throw e;
  }
}

/**
 * Sends batch `k` (1-based) of `of`; throws NftElementsRefusedError when the kernel refused any of
 * it, NftElementsUnavailableError when it could not be sent or its outcome is unknown.
 */
function sendBatch(
  socket: BatchSocket,
  family: NftFamily,
  table: string,
  batch: ElementBatch,
  position: BatchPosition | undefined,
): void {
  // A failure of batch k > 1 leaves the batches before it applied: its message says so.
  const where =
    position === undefined
      ? `the element batch for ${family} ${table}`
      : `element batch ${position.batch} of ${position.of} for ${family} ${table}` +
        (position.batch === 1
          ? ""
          : ` (${position.batch === 2 ? "batch 1" : `batches 1-${position.batch - 1}`} applied before it)`);
  const replies = socket.exchange(batch, where);
  const outcome = batchOutcome(batch, replies);
  if (outcome.refusals.length > 0)
    throw new NftElementsRefusedError(family, table, outcome.refusals, position);
}

/**
 * Adds `sets`' elements to `family table` (which must exist with those sets) as one transaction:
 * all of them or, when the kernel refuses any message, none — then NftElementsRefusedError names
 * each refused set and the kernel's reason. An element that does not parse throws
 * ElementSyntaxError before anything is sent. No elements at all: nothing is opened or sent.
 * Blocks the thread for the whole load (about 250 ms per 100,000 elements).
 */
export function loadSetElements(
  family: NftFamily,
  table: string,
  sets: readonly ElementLoad[],
  options: LoadOptions = {},
): LoadResult {
  const t0 = performance.now();
  const batch = encode(family, table, sets, 1);
  const encodeMs = performance.now() - t0;
  const result = { elements: batch.elements, messages: batch.messages.length, bytes: batch.bytes.length };
  if (batch.messages.length === 0) return { ...result, encodeMs, kernelMs: 0 };
  const where = `the element batch for ${family} ${table}`;
  const socket = BatchSocket.open(options.netnsPath, where);
  try {
    socket.fit(batch.bytes.length, answersOf(batch), where);
    const t1 = performance.now();
    sendBatch(socket, family, table, batch, undefined);
    return { ...result, encodeMs, kernelMs: performance.now() - t1 };
  } finally {
    socket.close();
  }
}

/** Lets the event loop run (timers, I/O callbacks) before going on. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The same elements as loadSetElements, in transactions of at most `elementsPerBatch` elements (a
 * set may span several), yielding to the event loop between any two steps of work, so none holds
 * the thread for more than one batch. Every batch is encoded before the first is sent, so an element
 * that does not parse still throws ElementSyntaxError with nothing sent. When the kernel refuses
 * batch k, NftElementsRefusedError says batches 1..k-1 were applied: load into a table that can be
 * dropped. `sets` must not change until the promise settles.
 */
export async function loadSetElementsInSteps(
  family: NftFamily,
  table: string,
  sets: readonly ElementLoad[],
  options: StepOptions = {},
): Promise<StepResult> {
  const groups = splitLoads(sets, options.elementsPerBatch ?? DEFAULT_ELEMENTS_PER_BATCH);
  if (groups.length === 0)
    return { ...loadSetElements(family, table, [], options), batches: 0, longestStepMs: 0 };
  const batches: ElementBatch[] = [];
  let encodeMs = 0;
  let longestStepMs = 0;
  let seq = 1;
  for (const group of groups) {
    if (batches.length > 0) await yieldToEventLoop();
    const t0 = performance.now();
    const batch = encode(family, table, group, seq);
    const ms = performance.now() - t0;
    encodeMs += ms;
    longestStepMs = Math.max(longestStepMs, ms);
    batches.push(batch);
    seq = batch.endSeq + 1;
  }
  const where = `the element batches for ${family} ${table}`;
  const socket = BatchSocket.open(options.netnsPath, where);
  let kernelMs = 0;
  try {
    socket.fit(
      Math.max(...batches.map((b) => b.bytes.length)),
      Math.max(...batches.map(answersOf)),
      `the largest of ${where}`,
    );
    for (const [i, batch] of batches.entries()) {
      await yieldToEventLoop();
      const t1 = performance.now();
      sendBatch(socket, family, table, batch, { batch: i + 1, of: batches.length });
      const ms = performance.now() - t1;
      kernelMs += ms;
      longestStepMs = Math.max(longestStepMs, ms);
    }
  } finally {
    socket.close();
  }
  return {
    elements: batches.reduce((n, b) => n + b.elements, 0),
    messages: batches.reduce((n, b) => n + b.messages.length, 0),
    bytes: batches.reduce((n, b) => n + b.bytes.length, 0),
    encodeMs,
    kernelMs,
    batches: batches.length,
    longestStepMs,
  };
}

/**
 * Adds set and map elements to an existing nftables table over netlink, in one transaction: the
 * elements nft would otherwise parse from `elements = { … }` text, which is most of the time of a
 * large `nft -f`. The table and its (empty) sets come from nft; this sends only NEWSETELEM
 * messages, encoded by nft-element-batch.ts.
 *
 * The whole batch goes in one send(): the kernel handles a batch within that call, and aborts one
 * whose BATCH_END is not in the same buffer. Every message asks for an acknowledgement
 * (NETLINK_CAP_ACK keeps them short), so by the time send() returns every answer is queued and
 * the reads below only drain them; SO_RCVTIMEO still bounds them so a surprise can never hang.
 */
import { decodeReplies, type Reply } from "./codec.ts";
import {
  EAGAIN,
  EINTR,
  MSG_DONTWAIT,
  NETLINK_CAP_ACK,
  NETLINK_NETFILTER,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUFFORCE,
  SOL_NETLINK,
  SOL_SOCKET,
} from "./nft-constants.ts";
import {
  batchOutcome,
  type ElementLoad,
  encodeElementBatch,
  type NftFamily,
  type Refusal,
} from "./nft-element-batch.ts";
import { type Libc, NetlinkError, openNetlinkSocket, requireLibc, strerror } from "./socket.ts";

export interface LoadOptions {
  /** The namespace whose nftables to change (a /run/netns path); our own when absent. */
  readonly netnsPath?: string;
}

export interface LoadResult {
  readonly elements: number;
  readonly messages: number;
  readonly bytes: number;
  /** Time spent encoding, and in the kernel (send until the last answer), in milliseconds. */
  readonly encodeMs: number;
  readonly kernelMs: number;
}

/** The kernel refused the batch: nothing of it was applied. */
export class NftElementsRefusedError extends Error {
  override readonly name = "NftElementsRefusedError";
  constructor(
    readonly family: NftFamily,
    readonly table: string,
    readonly refusals: readonly Refusal[],
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
    super(`Kernel refused elements (nothing applied): ${parts.join("; ")}`);
  }
}

/** A bound on waiting for answers that are, in practice, already queued. */
const ANSWER_TIMEOUT_S = 10;

/** An int socket option's value, in host byte order. */
function intOption(value: number): Uint8Array {
  return new Uint8Array(Int32Array.of(value).buffer);
}

function setOption(
  lib: Libc,
  fd: number,
  level: number,
  name: number,
  value: Uint8Array,
  what: string,
): void {
  if (lib.setsockopt(fd, level, name, value) !== 0) throw new NetlinkError(lib.errno(), what);
}

/**
 * Adds `sets`' elements to `family table` (which must exist with those sets) as one transaction:
 * all of them or, when the kernel refuses any message, none — then NftElementsRefusedError names
 * each refused set and the kernel's reason. An element that does not parse throws
 * ElementSyntaxError before anything is sent. No elements at all: nothing is opened or sent.
 */
export function loadSetElements(
  family: NftFamily,
  table: string,
  sets: readonly ElementLoad[],
  options: LoadOptions = {},
): LoadResult {
  const t0 = performance.now();
  const batch = encodeElementBatch(family, table, sets, 1);
  const encodeMs = performance.now() - t0;
  const result = {
    elements: batch.elements,
    messages: batch.messages.length,
    bytes: batch.bytes.length,
    encodeMs,
  };
  if (batch.messages.length === 0) return { ...result, kernelMs: 0 };
  const where = `the element batch for ${family} ${table}`;
  const lib = requireLibc();
  const fd = openNetlinkSocket(lib, NETLINK_NETFILTER, options.netnsPath);
  try {
    // The whole batch must fit the socket's send buffer; the answers (one small skb per message)
    // the receive buffer, or the kernel drops them and the outcome is unknown.
    setOption(
      lib,
      fd,
      SOL_SOCKET,
      SO_SNDBUFFORCE,
      intOption(batch.bytes.length + 65536),
      `${where}: SO_SNDBUFFORCE`,
    );
    const rcvbuf = Math.max(1 << 20, (batch.messages.length + 2) * 4096);
    setOption(lib, fd, SOL_SOCKET, SO_RCVBUFFORCE, intOption(rcvbuf), `${where}: SO_RCVBUFFORCE`);
    setOption(lib, fd, SOL_NETLINK, NETLINK_CAP_ACK, intOption(1), `${where}: NETLINK_CAP_ACK`);
    // struct timeval { tv_sec, tv_usec } of two longs (64-bit Linux).
    const timeval = new Uint8Array(BigInt64Array.of(BigInt(ANSWER_TIMEOUT_S), 0n).buffer);
    setOption(lib, fd, SOL_SOCKET, SO_RCVTIMEO, timeval, `${where}: SO_RCVTIMEO`);

    const t1 = performance.now();
    const sent = lib.send(fd, batch.bytes, batch.bytes.length, 0);
    if (sent !== batch.bytes.length) throw new NetlinkError(lib.errno(), `Sending ${where}`);
    const replies = readAnswers(lib, fd, batch.beginSeq, batch.endSeq, where);
    const kernelMs = performance.now() - t1;

    const outcome = batchOutcome(batch, replies);
    if (outcome.refusals.length > 0) throw new NftElementsRefusedError(family, table, outcome.refusals);
    if (outcome.unanswered > 0)
      throw new Error(
        `${where}: the kernel answered ${batch.messages.length - outcome.unanswered} of ${batch.messages.length} messages; whether it applied them is unknown`,
      );
    return { ...result, kernelMs };
  } finally {
    lib.close(fd);
  }
}

/**
 * Reads answers until every message between `beginSeq` and `endSeq` has one or the batch as a
 * whole was refused, then whatever else is queued (a failed commit is answered apart).
 */
function readAnswers(lib: Libc, fd: number, beginSeq: number, endSeq: number, where: string): Reply[] {
  const buf = new Uint8Array(1 << 18);
  const replies: Reply[] = [];
  const expected = endSeq - beginSeq - 1;
  let answered = 0;
  let batchRefused = false;
  let wait = true;
  for (;;) {
    const n = lib.recv(fd, buf, buf.length, wait ? 0 : MSG_DONTWAIT);
    if (n < 0) {
      const errno = lib.errno();
      if (errno === EINTR) continue;
      if (errno === EAGAIN && !wait) return replies;
      if (errno === EAGAIN)
        throw new Error(
          `${where}: no answer from the kernel to ${expected - answered} of ${expected} messages within ${ANSWER_TIMEOUT_S} s; whether it applied them is unknown`,
        );
      throw new NetlinkError(errno, `Reading the kernel's answers to ${where} (outcome unknown)`);
    }
    for (const r of decodeReplies(buf.slice(0, n))) {
      if (r.errno === undefined) continue;
      replies.push(r);
      if (r.seq > beginSeq && r.seq < endSeq) answered++;
      else if (r.seq === beginSeq || r.seq === endSeq) batchRefused = true;
    }
    if (answered >= expected || batchRefused) wait = false;
  }
}

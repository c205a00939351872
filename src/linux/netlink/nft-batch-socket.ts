/**
 * The nfnetlink socket an element load goes through (touches the kernel): opened in the target
 * namespace, its buffers made large enough for a batch, one batch sent and its answers read.
 *
 * A batch goes in one send(): the kernel handles it within that call (nfnetlink_rcv runs in the
 * sender's context, replaying it there after a module load), and aborts one whose BATCH_END is not
 * in the same buffer. Every message asks for an acknowledgement (NETLINK_CAP_ACK keeps them short),
 * so by the time send() returns every answer is queued: the reads never wait (MSG_DONTWAIT), and an
 * answer still missing then means the outcome is unknown, reported at once rather than waited for
 * on the agent's only thread.
 */
import { decodeReplies, type Reply } from "./codec.ts";
import { HOST_LITTLE_ENDIAN } from "./nft-attr-writer.ts";
import {
  EAGAIN,
  EINTR,
  EPERM,
  MSG_DONTWAIT,
  NETLINK_CAP_ACK,
  NETLINK_NETFILTER,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOL_NETLINK,
  SOL_SOCKET,
} from "./nft-constants.ts";
import type { ElementBatch } from "./nft-element-batch.ts";
import {
  NetlinkBatchTooLargeError,
  NftElementsUnavailableError,
  NftSocketUnavailableError,
} from "./nft-element-errors.ts";
import { type Libc, openNetlinkSocket, requireLibc, strerror } from "./socket.ts";

/** netlink_sendmsg refuses a message longer than the send buffer less this (EMSGSIZE). */
const SEND_SLACK = 32;
/**
 * What one answer is charged against the receive buffer: a small skb's truesize (its data rounded
 * to a kmalloc size, plus struct sk_buff and skb_shared_info) is under 1 KiB; twice that for margin.
 */
const ANSWER_TRUESIZE = 2048;

/** An int socket option's value, in host byte order. */
const intOption = (value: number): Uint8Array => new Uint8Array(Int32Array.of(value).buffer);

export class BatchSocket {
  private readonly buf = new Uint8Array(1 << 18);

  private constructor(
    private readonly lib: Libc,
    private readonly fd: number,
  ) {}

  /** A NETLINK_NETFILTER socket in our namespace or `netnsPath`'s; NftSocketUnavailableError if none. */
  static open(netnsPath: string | undefined, where: string): BatchSocket {
    // The answers are read by codec.ts, which takes netlink's host order to be little-endian.
    if (!HOST_LITTLE_ENDIAN)
      throw new NftSocketUnavailableError(
        `${where}: the kernel's answers are read as little-endian; this host is not`,
      );
    let lib: Libc;
    let fd: number;
    try {
      lib = requireLibc();
      fd = openNetlinkSocket(lib, NETLINK_NETFILTER, netnsPath);
    } catch (e) {
      throw new NftSocketUnavailableError(`${where}: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    return BatchSocket.over(lib, fd, where);
  }

  /** The socket `fd` (NETLINK_NETFILTER) through `lib`; closed on failure. Tests give a fake libc. */
  static over(lib: Libc, fd: number, where: string): BatchSocket {
    const socket = new BatchSocket(lib, fd);
    try {
      socket.set(SOL_NETLINK, NETLINK_CAP_ACK, 1, `${where}: NETLINK_CAP_ACK`);
    } catch (e) {
      socket.close();
      throw e;
    }
    return socket;
  }

  /**
   * Makes the buffers hold a batch of `bytes` and `answers` answers. A buffer already large enough
   * is left alone; a smaller one is forced (SO_*BUFFORCE), or when that is not permitted (EPERM:
   * no CAP_NET_ADMIN in the initial user namespace) set as far as net.core.[wr]mem_max allows.
   * Throws NetlinkBatchTooLargeError when that is still too small.
   */
  fit(bytes: number, answers: number, where: string): void {
    this.grow("send", bytes + SEND_SLACK, where);
    this.grow("receive", answers * ANSWER_TRUESIZE, where);
  }

  private grow(buffer: "send" | "receive", needed: number, where: string): void {
    const [plain, force] = buffer === "send" ? [SO_SNDBUF, SO_SNDBUFFORCE] : [SO_RCVBUF, SO_RCVBUFFORCE];
    const name = buffer === "send" ? "SO_SNDBUF" : "SO_RCVBUF";
    if (this.get(plain, `${where}: ${name}`) >= needed) return;
    // The kernel doubles the value it is given (room for its own overhead); asking for `needed`
    // leaves that margin.
    if (this.lib.setsockopt(this.fd, SOL_SOCKET, force, intOption(needed)) !== 0) {
      const errno = this.lib.errno();
      if (errno !== EPERM) throw this.failure(`${where}: ${name}FORCE`, errno);
      this.set(SOL_SOCKET, plain, needed, `${where}: ${name}`);
    }
    const got = this.get(plain, `${where}: ${name}`);
    if (got < needed) throw new NetlinkBatchTooLargeError(where, buffer, needed, got);
  }

  /**
   * Sends `batch` and returns every answer the kernel queued for it: one per message, plus the
   * batch's own errors. Throws NftElementsUnavailableError when it cannot be sent, or when an
   * answer is missing or lost (the kernel may or may not have applied the batch).
   */
  exchange(batch: ElementBatch, where: string): Reply[] {
    const sent = this.lib.send(this.fd, batch.bytes, batch.bytes.length, 0);
    if (sent !== batch.bytes.length)
      throw this.failure(`sending ${where} (${batch.bytes.length} bytes)`, this.lib.errno());
    const expected = batch.messages.length;
    const replies: Reply[] = [];
    let answered = 0;
    let batchRefused = false;
    for (;;) {
      const n = this.lib.recv(this.fd, this.buf, this.buf.length, MSG_DONTWAIT);
      if (n < 0) {
        const errno = this.lib.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) break;
        // ENOBUFS: answers were dropped for want of room.
        throw this.failure(
          `reading the kernel's answers to ${where} (whether it applied it is unknown)`,
          errno,
        );
      }
      for (const r of decodeReplies(this.buf.slice(0, n))) {
        if (r.errno === undefined) continue;
        replies.push(r);
        if (r.seq > batch.beginSeq && r.seq < batch.endSeq) answered++;
        else if (r.seq === batch.beginSeq || r.seq === batch.endSeq) batchRefused = true;
      }
    }
    if (answered < expected && !batchRefused)
      throw new NftElementsUnavailableError(
        `${where}: the kernel had answered ${answered} of ${expected} messages when send() returned; whether it applied them is unknown`,
      );
    return replies;
  }

  close(): void {
    this.lib.close(this.fd);
  }

  private get(name: number, what: string): number {
    const value = new Uint8Array(4);
    if (this.lib.getsockopt(this.fd, SOL_SOCKET, name, value) !== 0)
      throw this.failure(what, this.lib.errno());
    return new Int32Array(value.buffer)[0] as number;
  }

  private set(level: number, name: number, value: number, what: string): void {
    if (this.lib.setsockopt(this.fd, level, name, intOption(value)) !== 0)
      throw this.failure(what, this.lib.errno());
  }

  private failure(what: string, errno: number): NftElementsUnavailableError {
    return new NftElementsUnavailableError(`${what}: ${strerror(errno)}`);
  }
}

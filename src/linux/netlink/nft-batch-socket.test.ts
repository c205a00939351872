import { describe, expect, test } from "bun:test";
import { NLMSG_ERROR } from "./constants.ts";
import { BatchSocket } from "./nft-batch-socket.ts";
import {
  EAGAIN,
  EPERM,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOL_SOCKET,
} from "./nft-constants.ts";
import { encodeElementBatch } from "./nft-element-batch.ts";
import { NetlinkBatchTooLargeError, NftElementsUnavailableError } from "./nft-element-errors.ts";
import { elementLayout } from "./nft-element-types.ts";
import type { Libc } from "./socket.ts";

/** A libc whose socket has buffers of the given sizes, may refuse forcing, and answers as told. */
class FakeLibc implements Libc {
  readonly calls: string[] = [];
  errnoValue = 0;
  answers: Uint8Array[] = [];
  constructor(
    public sndbuf: number,
    public rcvbuf: number,
    private readonly forcePermitted: boolean,
    private readonly wmemMax = 212_992,
  ) {}
  socket = () => 3;
  close = () => 0;
  setns = () => 0;
  errno = () => this.errnoValue;
  send = (_fd: number, _buf: Uint8Array, len: number) => {
    this.calls.push(`send ${len}`);
    return len;
  };
  recv = (_fd: number, buf: Uint8Array, _len: number, flags: number) => {
    this.calls.push(`recv ${flags}`);
    const next = this.answers.shift();
    if (next === undefined) {
      this.errnoValue = EAGAIN;
      return -1;
    }
    buf.set(next);
    return next.length;
  };
  setsockopt = (_fd: number, level: number, name: number, value: Uint8Array) => {
    const v = new Int32Array(value.slice().buffer)[0] as number;
    this.calls.push(`set ${level}/${name} ${v}`);
    if (level !== SOL_SOCKET) return 0;
    if ((name === SO_SNDBUFFORCE || name === SO_RCVBUFFORCE) && !this.forcePermitted) {
      this.errnoValue = EPERM;
      return -1;
    }
    const doubled = 2 * (name === SO_SNDBUF || name === SO_RCVBUF ? Math.min(v, this.wmemMax) : v);
    if (name === SO_SNDBUF || name === SO_SNDBUFFORCE) this.sndbuf = doubled;
    if (name === SO_RCVBUF || name === SO_RCVBUFFORCE) this.rcvbuf = doubled;
    return 0;
  };
  getsockopt = (_fd: number, _level: number, name: number, value: Uint8Array) => {
    value.set(new Uint8Array(Int32Array.of(name === SO_SNDBUF ? this.sndbuf : this.rcvbuf).buffer));
    return 0;
  };
}

/** An NLMSG_ERROR answer (errno 0: an acknowledgement) as the kernel queues it with NETLINK_CAP_ACK. */
function answer(seq: number, errno: number): Uint8Array {
  const v = new DataView(new ArrayBuffer(36));
  v.setUint32(0, 36, true);
  v.setUint16(4, NLMSG_ERROR, true);
  v.setUint32(8, seq, true);
  v.setInt32(16, -errno, true);
  return new Uint8Array(v.buffer);
}

const ipv4 = elementLayout({ type: "ipv4_addr", flags: [] });
if (!ipv4) throw new Error("no layout");
const batch = encodeElementBatch(
  "ip",
  "podnet-b",
  [
    { name: "a", layout: ipv4, elements: ["10.0.0.1"] },
    { name: "b", layout: ipv4, elements: ["10.0.0.2"] },
  ],
  1,
);
const sets = (calls: readonly string[]) => calls.filter((c) => c.startsWith("set 1/"));

describe("BatchSocket.fit", () => {
  test("buffers already large enough are left alone", () => {
    const lib = new FakeLibc(212_992, 212_992, false);
    BatchSocket.over(lib, 3, "w").fit(100_000, 50, "w");
    expect(sets(lib.calls)).toEqual([]);
  });

  test("a larger batch forces the buffer where that is permitted", () => {
    const lib = new FakeLibc(212_992, 212_992, true);
    BatchSocket.over(lib, 3, "w").fit(5_000_000, 500, "w");
    expect(sets(lib.calls)).toEqual([`set 1/${SO_SNDBUFFORCE} 5000032`, `set 1/${SO_RCVBUFFORCE} 1024000`]);
  });

  test("forcing refused (EPERM): the plain option, as far as wmem_max goes", () => {
    const lib = new FakeLibc(212_992, 212_992, false, 4_194_304);
    BatchSocket.over(lib, 3, "w").fit(5_000_000, 10, "w");
    expect(sets(lib.calls)).toEqual([`set 1/${SO_SNDBUFFORCE} 5000032`, `set 1/${SO_SNDBUF} 5000032`]);
    expect(lib.sndbuf).toBe(8_388_608);
  });

  test("still too small: NetlinkBatchTooLargeError, a reason to fall back to nft", () => {
    const lib = new FakeLibc(212_992, 212_992, false);
    let error: unknown;
    try {
      BatchSocket.over(lib, 3, "the element batch for ip podnet-b").fit(
        1_000_000,
        10,
        "the element batch for ip podnet-b",
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NetlinkBatchTooLargeError);
    expect(error).toBeInstanceOf(NftElementsUnavailableError);
    expect((error as NetlinkBatchTooLargeError).bufferBytes).toBe(425_984);
    expect((error as Error).message).toContain("needs a 1000032-byte send buffer");
  });
});

describe("BatchSocket.exchange", () => {
  test("reads without waiting from the first read, until nothing is queued", () => {
    const lib = new FakeLibc(212_992, 212_992, true);
    lib.answers = [answer(2, 0), answer(3, 2)];
    const replies = BatchSocket.over(lib, 3, "w").exchange(batch, "w");
    expect(replies.map((r) => [r.seq, r.errno])).toEqual([
      [2, 0],
      [3, 2],
    ]);
    const MSG_DONTWAIT = 0x40;
    expect(lib.calls.filter((c) => c.startsWith("recv"))).toEqual(Array(3).fill(`recv ${MSG_DONTWAIT}`));
  });

  test("an answer missing when nothing more is queued: outcome unknown, at once", () => {
    const lib = new FakeLibc(212_992, 212_992, true);
    lib.answers = [answer(2, 0)];
    expect(() =>
      BatchSocket.over(lib, 3, "the element batch for ip podnet-b").exchange(
        batch,
        "the element batch for ip podnet-b",
      ),
    ).toThrow(
      "netlink could not be used: the element batch for ip podnet-b: the kernel had answered 1 of 2 messages when send() returned; whether it applied them is unknown",
    );
  });

  test("a batch refused as a whole needs no answer for each message", () => {
    const lib = new FakeLibc(212_992, 212_992, true);
    lib.answers = [answer(batch.beginSeq, 12)];
    expect(
      BatchSocket.over(lib, 3, "w")
        .exchange(batch, "w")
        .map((r) => r.errno),
    ).toEqual([12]);
  });
});

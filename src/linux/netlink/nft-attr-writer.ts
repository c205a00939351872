/**
 * The growing buffer nfnetlink messages are written into (pure), and the host byte order they use:
 * netlink headers and attribute headers are in the host's order (the kernel reads them as native
 * integers), payloads such as addresses and verdict codes in network order. Kept apart from the
 * element encoder (nft-element-batch.ts) so that every host-order write goes through one flag.
 */
import { align4 } from "./codec.ts";
import { NLA_F_NESTED, NLMSG_HDRLEN } from "./constants.ts";
import { NFGENMSG_LEN, NFNETLINK_V0, NFTA_DATA_VALUE } from "./nft-constants.ts";

/** The byte order netlink headers, attribute headers and host-order values (numgen's u32) use. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * An attribute header (u16 length, u16 type, host order) as one aligned 32-bit store; kept an
 * int32 (no `>>> 0`), which typed-array stores take on their fast path.
 */
export const attrWord = (type: number, len: number): number =>
  HOST_LITTLE_ENDIAN ? (type << 16) | len : (len << 16) | type;

/** A buffer written front to back, always at 4-byte aligned attribute starts; grows by doubling. */
export class Writer {
  bytes: Uint8Array;
  view: DataView;
  words: Int32Array;
  at = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(align4(Math.max(capacity, 64)));
    this.view = new DataView(this.bytes.buffer);
    this.words = new Int32Array(this.bytes.buffer);
  }

  reserve(n: number): void {
    if (this.at + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.at + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.at));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
    this.words = new Int32Array(bigger.buffer);
  }

  /** nlmsghdr and nfgenmsg (whose res_id alone is big-endian); returns the message start for end(). */
  header(type: number, flags: number, seq: number, family: number, resId: number): number {
    const start = this.at;
    const v = this.view;
    v.setUint32(start, 0, HOST_LITTLE_ENDIAN);
    v.setUint16(start + 4, type, HOST_LITTLE_ENDIAN);
    v.setUint16(start + 6, flags, HOST_LITTLE_ENDIAN);
    v.setUint32(start + 8, seq, HOST_LITTLE_ENDIAN);
    v.setUint32(start + 12, 0, HOST_LITTLE_ENDIAN);
    this.bytes[start + 16] = family;
    this.bytes[start + 17] = NFNETLINK_V0;
    v.setUint16(start + 18, resId, false);
    this.at = start + NLMSG_HDRLEN + NFGENMSG_LEN;
    return start;
  }

  endMessage(start: number): void {
    this.view.setUint32(start, this.at - start, HOST_LITTLE_ENDIAN);
  }

  open(type: number): number {
    const start = this.at;
    this.view.setUint16(start + 2, type, HOST_LITTLE_ENDIAN);
    this.at = start + 4;
    return start;
  }

  /** Sets the attribute's length and zeroes its padding to 4 bytes. */
  close(start: number): void {
    this.view.setUint16(start, this.at - start, HOST_LITTLE_ENDIAN);
    while (this.at & 3) this.bytes[this.at++] = 0;
  }

  /** An ASCII name, NUL-terminated (nla_strscpy users). */
  cstring(type: number, s: string): void {
    const a = this.open(type);
    for (let i = 0; i < s.length; i++) this.bytes[this.at++] = s.charCodeAt(i);
    this.bytes[this.at++] = 0;
    this.close(a);
  }

  /**
   * A fixed-size NFTA_DATA_VALUE nested in `outer`; returns where the value goes. Its padding bytes are left as they are: zero, since nothing is written past `at` except by
   * an element that is then taken back (rewind zeroes it).
   */
  value(outer: number, length: number): number {
    const a = this.at;
    const i = a >> 2;
    this.words[i] = attrWord(outer | NLA_F_NESTED, 8 + align4(length));
    this.words[i + 1] = attrWord(NFTA_DATA_VALUE, 4 + length);
    this.at = a + 8 + align4(length);
    return a + 8;
  }

  /** Takes back what was written from `to` on, leaving those bytes zero again. */
  rewind(to: number): void {
    this.bytes.fill(0, to, this.at);
    this.at = to;
  }
}

/**
 * Encoding and decoding of rtnetlink messages (pure: bytes in, bytes out). A message is a
 * 16-byte nlmsghdr, a fixed family header (ifinfomsg, ifaddrmsg, rtmsg), then attributes:
 * 4-byte {len, type} headers with 4-byte aligned payloads, nestable (netlink(7), rtnetlink(7)).
 */
import { NLA_F_NESTED, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from "./constants.ts";

export const align4 = (n: number): number => (n + 3) & ~3;

export type Attr =
  | { readonly type: number; readonly kind: "bytes"; readonly value: Uint8Array }
  | {
      readonly type: number;
      readonly kind: "nested";
      readonly header?: Uint8Array;
      readonly attrs: readonly Attr[];
    };

export const attr = {
  bytes: (type: number, value: Uint8Array): Attr => ({ type, kind: "bytes", value }),
  u8: (type: number, v: number): Attr => ({ type, kind: "bytes", value: Uint8Array.of(v) }),
  u32: (type: number, v: number): Attr => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    return { type, kind: "bytes", value: b };
  },
  /** NUL-terminated, as the kernel's nla_strscpy users (IFLA_IFNAME) expect. */
  cstring: (type: number, s: string): Attr => ({
    type,
    kind: "bytes",
    value: new TextEncoder().encode(`${s}\0`),
  }),
  /** Without a terminator (IFLA_INFO_KIND, IFLA_IFALIAS), as iproute2 sends them. */
  string: (type: number, s: string): Attr => ({ type, kind: "bytes", value: new TextEncoder().encode(s) }),
  nested: (type: number, attrs: readonly Attr[], header?: Uint8Array): Attr => ({
    type,
    kind: "nested",
    attrs,
    ...(header ? { header } : {}),
  }),
};

function attrSize(a: Attr): number {
  if (a.kind === "bytes") return 4 + a.value.length;
  return 4 + align4(a.header?.length ?? 0) + a.attrs.reduce((n, c) => n + align4(attrSize(c)), 0);
}

function writeAttr(view: DataView, bytes: Uint8Array, offset: number, a: Attr): number {
  const len = attrSize(a);
  view.setUint16(offset, len, true);
  if (a.kind === "bytes") {
    view.setUint16(offset + 2, a.type, true);
    bytes.set(a.value, offset + 4);
  } else {
    // The veth peer carries an ifinfomsg before its attributes, so it is not flagged nested.
    view.setUint16(offset + 2, a.header ? a.type : a.type | NLA_F_NESTED, true);
    let at = offset + 4;
    if (a.header) {
      bytes.set(a.header, at);
      at += align4(a.header.length);
    }
    for (const c of a.attrs) at = writeAttr(view, bytes, at, c);
  }
  return offset + align4(len);
}

/** A complete request: header, family-specific struct, attributes. */
export function encodeMessage(
  type: number,
  flags: number,
  seq: number,
  header: Uint8Array,
  attrs: readonly Attr[],
): Uint8Array {
  const len = NLMSG_HDRLEN + align4(header.length) + attrs.reduce((n, a) => n + align4(attrSize(a)), 0);
  const bytes = new Uint8Array(len);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, len, true);
  view.setUint16(4, type, true);
  view.setUint16(6, flags, true);
  view.setUint32(8, seq, true);
  view.setUint32(12, 0, true);
  bytes.set(header, NLMSG_HDRLEN);
  let at = NLMSG_HDRLEN + align4(header.length);
  for (const a of attrs) at = writeAttr(view, bytes, at, a);
  return bytes;
}

export function ifinfomsg(index = 0, flags = 0, change = 0, family = 0): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setInt32(4, index, true);
  v.setUint32(8, flags, true);
  v.setUint32(12, change, true);
  return b;
}

export function ifaddrmsg(
  family: number,
  prefixlen: number,
  flags: number,
  scope: number,
  index: number,
): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, family);
  v.setUint8(1, prefixlen);
  v.setUint8(2, flags & 0xff);
  v.setUint8(3, scope);
  v.setUint32(4, index, true);
  return b;
}

export interface RtmsgFields {
  readonly family: number;
  readonly dstLen: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
}

export function rtmsg(f: RtmsgFields): Uint8Array {
  return Uint8Array.of(f.family, f.dstLen, 0, 0, f.table, f.protocol, f.scope, f.type, 0, 0, 0, 0);
}

export interface Reply {
  readonly type: number;
  readonly seq: number;
  /** For NLMSG_ERROR: 0 is an acknowledgement, otherwise the positive errno. */
  readonly errno?: number;
  /** The message body after the nlmsghdr. */
  readonly body: Uint8Array;
}

/** Splits a datagram into its messages. */
export function decodeReplies(bytes: Uint8Array): Reply[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Reply[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= bytes.length) {
    const len = view.getUint32(at, true);
    if (len < NLMSG_HDRLEN || at + len > bytes.length)
      throw new Error(`Malformed netlink message (length ${len} at ${at})`);
    const type = view.getUint16(at + 4, true);
    const seq = view.getUint32(at + 8, true);
    const body = bytes.subarray(at + NLMSG_HDRLEN, at + len);
    if (type === NLMSG_ERROR) {
      const code = new DataView(body.buffer, body.byteOffset, body.byteLength).getInt32(0, true);
      out.push({ type, seq, errno: code === 0 ? 0 : -code, body });
    } else out.push({ type, seq, body });
    at += align4(len);
    if (type === NLMSG_DONE) break;
  }
  return out;
}

/** Attributes of a body after its fixed header: type → payload (the last one wins). */
export function decodeAttrs(body: Uint8Array, headerLen: number): Map<number, Uint8Array> {
  const attrs = new Map<number, Uint8Array>();
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = align4(headerLen);
  while (at + 4 <= body.length) {
    const len = view.getUint16(at, true);
    if (len < 4) break;
    const type = view.getUint16(at + 2, true) & ~NLA_F_NESTED;
    attrs.set(type, body.subarray(at + 4, Math.min(at + len, body.length)));
    at += align4(len);
  }
  return attrs;
}

export function cstringOf(b: Uint8Array | undefined): string | undefined {
  if (!b) return undefined;
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

export function u32Of(b: Uint8Array | undefined): number | undefined {
  if (!b || b.length < 4) return undefined;
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

export function macOf(b: Uint8Array | undefined): string | undefined {
  if (!b) return undefined;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}

import { describe, expect, test } from "bun:test";
import {
  attr,
  cstringOf,
  decodeAttrs,
  decodeReplies,
  encodeMessage,
  ifinfomsg,
  macOf,
  u32Of,
} from "./codec.ts";
import { IFINFOMSG_LEN, NLA_F_NESTED, NLMSG_ERROR } from "./constants.ts";

describe("encodeMessage", () => {
  test("writes the header, the family struct and 4-byte aligned attributes", () => {
    const msg = encodeMessage(16, 0x605, 7, ifinfomsg(3, 1, 1), [attr.cstring(3, "eth0"), attr.u32(4, 1450)]);
    const v = new DataView(msg.buffer);
    expect(v.getUint32(0, true)).toBe(msg.length);
    expect(msg.length).toBe(16 + 16 + 12 + 8); // "eth0\0" is 9 bytes with its header, padded to 12
    expect([v.getUint16(4, true), v.getUint16(6, true), v.getUint32(8, true)]).toEqual([16, 0x605, 7]);
    expect(v.getInt32(20, true)).toBe(3); // ifi_index
    expect([v.getUint16(32, true), v.getUint16(34, true)]).toEqual([9, 3]);
    expect(cstringOf(msg.subarray(36, 41))).toBe("eth0");
    expect(u32Of(msg.subarray(48, 52))).toBe(1450);
  });

  test("flags nested attributes, except the veth peer that carries its own ifinfomsg", () => {
    const msg = encodeMessage(16, 0, 1, ifinfomsg(), [
      attr.nested(18, [
        attr.string(1, "veth"),
        attr.nested(2, [attr.nested(1, [attr.cstring(3, "p")], ifinfomsg())]),
      ]),
    ]);
    const attrs = decodeAttrs(msg.subarray(16), IFINFOMSG_LEN);
    const linkinfo = attrs.get(18);
    expect(linkinfo).toBeDefined();
    const v = new DataView(msg.buffer);
    expect(v.getUint16(34, true) & NLA_F_NESTED).toBe(NLA_F_NESTED);
    const inner = decodeAttrs(linkinfo as Uint8Array, 0);
    expect(new TextDecoder().decode(inner.get(1))).toBe("veth");
    const peer = decodeAttrs(decodeAttrs(inner.get(2) as Uint8Array, 0).get(1) as Uint8Array, IFINFOMSG_LEN);
    expect(cstringOf(peer.get(3))).toBe("p");
  });
});

describe("decodeReplies", () => {
  function errorMessage(seq: number, errno: number): Uint8Array {
    const b = new Uint8Array(36);
    const v = new DataView(b.buffer);
    v.setUint32(0, 36, true);
    v.setUint16(4, NLMSG_ERROR, true);
    v.setUint32(8, seq, true);
    v.setInt32(16, -errno, true);
    return b;
  }

  test("reads acknowledgements and errors with their sequence numbers", () => {
    const both = new Uint8Array(72);
    both.set(errorMessage(4, 0), 0);
    both.set(errorMessage(5, 17), 36);
    expect(decodeReplies(both).map((r) => [r.seq, r.errno])).toEqual([
      [4, 0],
      [5, 17],
    ]);
  });

  test("rejects a truncated message instead of reading past it", () => {
    expect(() => decodeReplies(errorMessage(1, 0).subarray(0, 20))).toThrow("Malformed netlink message");
  });

  test("formats MAC addresses", () => {
    expect(macOf(Uint8Array.of(0x0a, 0x58, 0, 1, 0xfe, 0xff))).toBe("0a:58:00:01:fe:ff");
  });
});

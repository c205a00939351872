import { describe, expect, test } from "bun:test";
import { ProtobufDecodeError, ProtoMessage, ProtoWriter } from "./protobuf-wire.ts";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const fromHex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replaceAll(" ", ""), "hex"));

describe("ProtoWriter", () => {
  // The examples of https://protobuf.dev/programming-guides/encoding/
  test("a varint: field 1 = 150 is 08 96 01", () => {
    expect(hex(new ProtoWriter().int(1, 150).finish())).toBe("089601");
  });

  test('a string: field 2 = "testing" is 12 07 followed by the bytes', () => {
    expect(hex(new ProtoWriter().string(2, "testing").finish())).toBe("120774657374696e67");
  });

  test("an embedded message: field 3 = { field 1 = 150 } is 1a 03 08 96 01", () => {
    const inner = new ProtoWriter().int(1, 150);
    expect(hex(new ProtoWriter().message(3, inner).finish())).toBe("1a03089601");
  });

  test("a negative int64 is its ten-byte two's complement", () => {
    expect(hex(new ProtoWriter().int(1, -1).finish())).toBe("08ffffffffffffffffff01");
  });

  test("proto3 defaults are left out, an empty embedded message is not", () => {
    const w = new ProtoWriter().int(1, 0).string(2, "").bool(3, false).message(4, new ProtoWriter());
    expect(hex(w.finish())).toBe("2200");
  });

  test("repeated strings keep their order; a map entry is { 1: key, 2: value }", () => {
    expect(hex(new ProtoWriter().strings(2, ["a", "bc"]).finish())).toBe("1201611202" + "6263");
    expect(hex(new ProtoWriter().stringMap(6, { a: "b" }).finish())).toBe("3206" + "0a0161" + "120162");
  });

  test("a field number outside 1..2^29-1 or an unsafe integer is refused", () => {
    expect(() => new ProtoWriter().int(0, 1)).toThrow(RangeError);
    expect(() => new ProtoWriter().int(1, 2 ** 60)).toThrow(RangeError);
  });
});

describe("ProtoMessage", () => {
  test("reads back what the writer wrote", () => {
    const bytes = new ProtoWriter()
      .string(1, "pod-a")
      .int(2, 2)
      .int(3, -7)
      .bool(4, true)
      .strings(5, ["x", "", "z"])
      .message(6, new ProtoWriter().string(1, "10.244.0.2"))
      .stringMap(7, { app: "web", tier: "front" })
      .bytes(8, Uint8Array.of(0, 255))
      .finish();
    const m = ProtoMessage.decode(bytes);
    expect(m.string(1)).toBe("pod-a");
    expect(m.int(2)).toBe(2);
    expect(m.int(3)).toBe(-7);
    expect(m.bool(4)).toBe(true);
    expect(m.strings(5)).toEqual(["x", "", "z"]);
    expect(m.message(6)?.string(1)).toBe("10.244.0.2");
    expect(m.stringMap(7)).toEqual({ app: "web", tier: "front" });
    expect([...m.bytes(8)]).toEqual([0, 255]);
  });

  test("absent fields read as their defaults; an absent message as undefined", () => {
    const m = ProtoMessage.decode(new Uint8Array());
    expect([m.string(1), m.int(2), m.bool(3), m.strings(4), m.message(5), m.has(1)]).toEqual([
      "",
      0,
      false,
      [],
      undefined,
      false,
    ]);
  });

  test("skips fixed32 and fixed64 fields it does not read", () => {
    const m = ProtoMessage.decode(fromHex("0d 01020304 11 0102030405060708 1801"));
    expect(m.int(3)).toBe(1);
    expect(m.has(1)).toBe(false);
  });

  test("the last scalar wins; repeated occurrences of a message merge", () => {
    const m = ProtoMessage.decode(fromHex("0801 0802 1a02 0801 1a02 1002"));
    expect(m.int(1)).toBe(2);
    const merged = m.message(3);
    expect([merged?.int(1), merged?.int(2)]).toEqual([1, 2]);
  });

  test("truncated input and wrong wire types are named errors", () => {
    expect(() => ProtoMessage.decode(fromHex("0a05 6162"))).toThrow(ProtobufDecodeError);
    expect(() => ProtoMessage.decode(fromHex("08 96"))).toThrow("Truncated varint");
    expect(() => ProtoMessage.decode(fromHex("0b"))).toThrow("Unsupported wire type 3 of field 1");
    expect(() => ProtoMessage.decode(fromHex("0801")).string(1)).toThrow("expected 2");
  });
});

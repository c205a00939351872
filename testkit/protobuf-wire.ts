/**
 * The protocol buffers wire format, as much of it as a test needs to speak a gRPC API without
 * generated code (the CRI test builds and reads a handful of CRI messages with it): varints,
 * length-delimited fields (strings, bytes, embedded messages, map entries) and skipping the
 * fixed-width types it does not read. https://protobuf.dev/programming-guides/encoding/
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

export class ProtobufDecodeError extends Error {
  override readonly name = "ProtobufDecodeError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Builds one message field by field; proto3 defaults (0, "", false) are left out, as protoc does. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private varintRaw(value: bigint): void {
    // Negative int32/int64 values are sent as their 64-bit two's complement: ten bytes.
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    do {
      const low = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v === 0n ? low : low | 0x80);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff)
      throw new RangeError(`Cannot encode field number ${field}: it must be 1..2^29-1`);
    this.varintRaw(BigInt(field * 8 + wire));
  }

  /** int32, int64, uint32, uint64 and enums. */
  int(field: number, value: number | bigint): this {
    if (typeof value === "number" && !Number.isSafeInteger(value))
      throw new RangeError(`Cannot encode ${value} in field ${field}: not a safe integer`);
    if (value === 0 || value === 0n) return this;
    this.tag(field, WIRE_VARINT);
    this.varintRaw(BigInt(value));
    return this;
  }

  bool(field: number, value: boolean): this {
    return value ? this.int(field, 1) : this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varintRaw(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string | undefined): this {
    return value === undefined || value === "" ? this : this.bytes(field, encoder.encode(value));
  }

  /** A repeated string field: one length-delimited entry per value, empty strings included. */
  strings(field: number, values: readonly string[] | undefined): this {
    for (const v of values ?? []) this.bytes(field, encoder.encode(v));
    return this;
  }

  /** An embedded message (written even when empty: presence is what a set message field means). */
  message(field: number, value: ProtoWriter | undefined): this {
    return value === undefined ? this : this.bytes(field, value.finish());
  }

  /** map<string, string>: a repeated entry message with the key in field 1 and the value in field 2. */
  stringMap(field: number, map: Readonly<Record<string, string>> | undefined): this {
    for (const [k, v] of Object.entries(map ?? {}))
      this.message(field, new ProtoWriter().bytes(1, encoder.encode(k)).bytes(2, encoder.encode(v)));
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}

type FieldValue =
  | { readonly wire: typeof WIRE_VARINT; readonly value: bigint }
  | { readonly wire: 2; readonly bytes: Uint8Array };

/** A decoded message: its fields by number, read with the accessor of the type the schema gives. */
export class ProtoMessage {
  private constructor(private readonly fields: ReadonlyMap<number, readonly FieldValue[]>) {}

  static decode(bytes: Uint8Array): ProtoMessage {
    const fields = new Map<number, FieldValue[]>();
    let pos = 0;
    const varint = (): bigint => {
      let result = 0n;
      let shift = 0n;
      for (;;) {
        if (pos >= bytes.length) throw new ProtobufDecodeError(`Truncated varint at byte ${pos}`);
        const b = bytes[pos++] as number;
        result |= BigInt(b & 0x7f) << shift;
        if ((b & 0x80) === 0) return result;
        shift += 7n;
        if (shift > 63n) throw new ProtobufDecodeError(`Varint longer than 10 bytes at byte ${pos}`);
      }
    };
    const take = (n: number): Uint8Array => {
      if (pos + n > bytes.length)
        throw new ProtobufDecodeError(
          `Field of ${n} bytes at byte ${pos} runs past the end (${bytes.length})`,
        );
      const out = bytes.subarray(pos, pos + n);
      pos += n;
      return out;
    };
    while (pos < bytes.length) {
      const key = varint();
      const field = Number(key >> 3n);
      const wire = Number(key & 7n);
      if (field === 0) throw new ProtobufDecodeError(`Field number 0 at byte ${pos}`);
      let value: FieldValue | undefined;
      switch (wire) {
        case WIRE_VARINT:
          value = { wire, value: varint() };
          break;
        case WIRE_LENGTH_DELIMITED:
          value = { wire, bytes: take(Number(varint())) };
          break;
        case WIRE_FIXED64:
          take(8);
          break;
        case WIRE_FIXED32:
          take(4);
          break;
        default:
          throw new ProtobufDecodeError(`Unsupported wire type ${wire} of field ${field}`);
      }
      if (value) fields.set(field, [...(fields.get(field) ?? []), value]);
    }
    return new ProtoMessage(fields);
  }

  private all(field: number, wire: FieldValue["wire"]): FieldValue[] {
    const values = this.fields.get(field) ?? [];
    for (const v of values)
      if (v.wire !== wire)
        throw new ProtobufDecodeError(`Field ${field} has wire type ${v.wire}, expected ${wire}`);
    return [...values];
  }

  private chunks(field: number): Uint8Array[] {
    return this.all(field, WIRE_LENGTH_DELIMITED).map((v) =>
      v.wire === WIRE_LENGTH_DELIMITED ? v.bytes : new Uint8Array(),
    );
  }

  has(field: number): boolean {
    return this.fields.has(field);
  }

  /** A scalar varint as a signed 64-bit value (int32/int64/enum); the last occurrence wins. */
  bigint(field: number): bigint {
    const last = this.all(field, WIRE_VARINT).at(-1);
    return last?.wire === WIRE_VARINT ? BigInt.asIntN(64, last.value) : 0n;
  }

  int(field: number): number {
    const v = this.bigint(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
      throw new ProtobufDecodeError(`Field ${field} holds ${v}, beyond a safe integer`);
    return Number(v);
  }

  bool(field: number): boolean {
    return this.bigint(field) !== 0n;
  }

  bytes(field: number): Uint8Array {
    return this.chunks(field).at(-1) ?? new Uint8Array();
  }

  string(field: number): string {
    return decoder.decode(this.bytes(field));
  }

  strings(field: number): string[] {
    return this.chunks(field).map((c) => decoder.decode(c));
  }

  /** An embedded message; several occurrences merge, which is what concatenating them means. */
  message(field: number): ProtoMessage | undefined {
    const parts = this.chunks(field);
    if (parts.length === 0) return undefined;
    return ProtoMessage.decode(Uint8Array.from(parts.flatMap((p) => [...p])));
  }

  messages(field: number): ProtoMessage[] {
    return this.chunks(field).map((c) => ProtoMessage.decode(c));
  }

  stringMap(field: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const entry of this.messages(field)) out[entry.string(1)] = entry.string(2);
    return out;
  }
}

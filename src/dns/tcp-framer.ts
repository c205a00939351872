/**
 * DNS over TCP framing (pure): each message is preceded by its length in two bytes (RFC 1035
 * §4.2.2, RFC 7766 §8), several per connection. dns-packet's streamDecode trusts the length and
 * decodes to the end of the buffer, so the framing is done here: a declared length of 0 or over
 * the limit ends the connection before anything of that size is buffered.
 */

export class TcpFramer {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessage: number) {}

  /** The complete messages a chunk finishes, or the reason the stream is not DNS. */
  push(chunk: Buffer): { readonly messages: Buffer[]; readonly error?: string } {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const messages: Buffer[] = [];
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (length === 0 || length > this.maxMessage) {
        this.buffered = Buffer.alloc(0);
        return { messages, error: `a message of ${length} bytes (limit ${this.maxMessage})` };
      }
      if (this.buffered.length < length + 2) break;
      messages.push(Buffer.from(this.buffered.subarray(2, length + 2)));
      this.buffered = this.buffered.subarray(length + 2);
    }
    return { messages };
  }
}

/** A message with its two-byte length, ready for a TCP stream. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/**
 * What the lab's echo server answers and what the echo client reports, and the validating parsers
 * for both: a probe's JSON crosses a process boundary (the client runs inside a namespace), so it
 * is checked field by field instead of trusted with a cast.
 */

export type EchoProto = "tcp" | "udp";

export interface EchoReply {
  readonly pod: string;
  /** The local address the connection or datagram arrived on (the server's side). */
  readonly ip: string;
  /** The client address as the server sees it: proves or disproves NAT. */
  readonly from: string;
  readonly fromPort: number;
  readonly pid: number;
  /** Network namespace identity of the server ("net:[4026532...]"). */
  readonly netns: string;
  readonly proto: EchoProto;
}

export interface EchoProbe {
  readonly reply: EchoReply;
  /** The client's own network namespace, to compare with the server's. */
  readonly clientNetns: string;
  readonly clientPid: number;
  /**
   * Who answered, as the client sees it: the peer of the TCP connection, or the source address of
   * the UDP reply. Through a Service this must be the ClusterIP (conntrack reverses the DNAT).
   */
  readonly replyFrom: string;
  /** The client's own address and port, to compare with what the server saw (`reply.from`). */
  readonly localIp: string;
  readonly localPort: number;
}

export class EchoReplyError extends Error {
  override readonly name = "EchoReplyError";
}

/** IPv4 peers of a dual-stack socket appear as ::ffff:a.b.c.d; the checks compare plain IPv4. */
export function bareAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
}

type Fields = Readonly<Record<string, unknown>>;

function parseObject(text: string, what: string): Fields {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EchoReplyError(`Invalid ${what} ${JSON.stringify(text.slice(0, 200))}: not JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new EchoReplyError(`Invalid ${what} ${JSON.stringify(text.slice(0, 200))}: not a JSON object`);
  return value as Fields;
}

function field(what: string, fields: Fields, name: string): unknown {
  if (!Object.hasOwn(fields, name)) throw new EchoReplyError(`Invalid ${what}: field "${name}" is missing`);
  return fields[name];
}

function text(what: string, fields: Fields, name: string): string {
  const value = field(what, fields, name);
  if (typeof value !== "string")
    throw new EchoReplyError(
      `Invalid ${what}: field "${name}" must be a string, got ${JSON.stringify(value)}`,
    );
  return value;
}

function integer(what: string, fields: Fields, name: string, min: number, max: number): number {
  const value = field(what, fields, name);
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new EchoReplyError(
      `Invalid ${what}: field "${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  return value;
}

function replyFromFields(fields: Fields, what: string): EchoReply {
  const proto = text(what, fields, "proto");
  if (proto !== "tcp" && proto !== "udp")
    throw new EchoReplyError(`Invalid ${what}: field "proto" must be "tcp" or "udp", got "${proto}"`);
  return {
    pod: text(what, fields, "pod"),
    ip: text(what, fields, "ip"),
    from: text(what, fields, "from"),
    fromPort: integer(what, fields, "fromPort", 0, 65535),
    pid: integer(what, fields, "pid", 1, Number.MAX_SAFE_INTEGER),
    netns: text(what, fields, "netns"),
    proto,
  };
}

/** Parses the one JSON object an echo server sends back (a TCP line or a UDP datagram). */
export function parseEchoReply(json: string): EchoReply {
  return replyFromFields(parseObject(json, "echo reply"), "echo reply");
}

/** Parses what `podnet lab echo-client` prints. */
export function parseEchoProbe(json: string): EchoProbe {
  const what = "echo probe";
  const fields = parseObject(json, what);
  const reply = field(what, fields, "reply");
  if (typeof reply !== "object" || reply === null || Array.isArray(reply))
    throw new EchoReplyError(
      `Invalid ${what}: field "reply" must be an object, got ${JSON.stringify(reply)}`,
    );
  return {
    reply: replyFromFields(reply as Fields, "echo reply in probe"),
    clientNetns: text(what, fields, "clientNetns"),
    clientPid: integer(what, fields, "clientPid", 1, Number.MAX_SAFE_INTEGER),
    replyFrom: text(what, fields, "replyFrom"),
    localIp: text(what, fields, "localIp"),
    localPort: integer(what, fields, "localPort", 0, 65535),
  };
}

/**
 * Asking upstream resolvers (the shell around upstream.ts). Every query gets a random ID and a
 * socket of its own, connected to the upstream: the kernel picks a random ephemeral source port
 * for each (Linux randomises UDP ephemeral ports) and delivers only datagrams from that address and
 * port (RFC 5452). A truncated reply is asked again over TCP; a timeout, a failure or a SERVFAIL /
 * REFUSED from one upstream moves on to the next.
 */
import type { DecodedPacket, Question } from "dns-packet";
import { errorText } from "../base/error-text.ts";
import { RCODE, TCP_MAX, tryDecode } from "./dns-message.ts";
import { frame, TcpFramer } from "./tcp-framer.ts";
import { formatUpstream, replyMatches, type Upstream, upstreamQuery } from "./upstream.ts";

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(question: Question, reasons: readonly string[]) {
    super(`No upstream answered ${question.name} ${question.type}: ${reasons.join("; ") || "no upstreams"}`);
  }
}

function randomId(): number {
  return crypto.getRandomValues(new Uint16Array(1))[0] ?? 0;
}

/** Asks the upstreams in order; the first usable reply wins. Throws UpstreamError when none gives one. */
export async function askUpstreams(
  upstreams: readonly Upstream[],
  question: Question,
  dnssecOk: boolean,
  timeoutMs: number,
): Promise<DecodedPacket> {
  const reasons: string[] = [];
  for (const upstream of upstreams) {
    try {
      const reply = await askUpstream(upstream, question, dnssecOk, timeoutMs);
      const rcode = (reply.flags ?? 0) & 0xf;
      if (rcode !== RCODE.SERVFAIL && rcode !== RCODE.REFUSED) return reply;
      reasons.push(`${formatUpstream(upstream)} answered rcode ${rcode}`);
    } catch (e) {
      reasons.push(`${formatUpstream(upstream)}: ${errorText(e)}`);
    }
  }
  throw new UpstreamError(question, reasons);
}

export async function askUpstream(
  upstream: Upstream,
  question: Question,
  dnssecOk: boolean,
  timeoutMs: number,
): Promise<DecodedPacket> {
  const id = randomId();
  const query = upstreamQuery(question, id, dnssecOk);
  const exchange: Exchange = { upstream, query, id, question, timeoutMs };
  const reply = await overUdp(exchange);
  if (!reply.flag_tc) return reply;
  return overTcp(exchange);
}

/** One query to one upstream: the encoded query, its ID and question, and how long to wait. */
interface Exchange {
  readonly upstream: Upstream;
  readonly query: Buffer;
  readonly id: number;
  readonly question: Question;
  readonly timeoutMs: number;
}

/**
 * The first outcome of an exchange, once: `finish(done)` runs `cleanup` (the timer, the socket)
 * and then `done` the first time only; `settled()` tells whether it has run.
 */
function settleOnce(cleanup: () => void): { finish: (done: () => void) => void; settled: () => boolean } {
  let settled = false;
  return {
    finish: (done) => {
      if (settled) return;
      settled = true;
      cleanup();
      done();
    },
    settled: () => settled,
  };
}

function overUdp({ upstream, query, id, question, timeoutMs }: Exchange): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    let socket: { close(): void } | undefined;
    const { finish, settled } = settleOnce(() => {
      clearTimeout(timer);
      socket?.close();
    });
    const timer = setTimeout(
      () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms`))),
      timeoutMs,
    );
    Bun.udpSocket({
      hostname: upstream.family === 6 ? "::" : "0.0.0.0",
      port: 0,
      connect: { hostname: upstream.host, port: upstream.port },
      socket: {
        data: (_s, data, _port, _address, flags) => {
          if (flags.truncated) return;
          const reply = tryDecode(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
          // A forged or stray datagram is ignored; the real reply may still come (RFC 5452 §9.1).
          if (typeof reply === "string" || !replyMatches(reply, id, question)) return;
          finish(() => resolve(reply));
        },
        error: (_s, e) => finish(() => reject(e)),
      },
    }).then(
      (s) => {
        socket = s;
        if (settled()) s.close();
        else if (!s.send(query)) finish(() => reject(new Error("the query could not be sent")));
      },
      (e: unknown) => finish(() => reject(e)),
    );
  });
}

function overTcp({ upstream, query, id, question, timeoutMs }: Exchange): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const framer = new TcpFramer(TCP_MAX);
    let socket: { end(): void } | undefined;
    const { finish, settled } = settleOnce(() => {
      clearTimeout(timer);
      socket?.end();
    });
    const fail = (why: string) => finish(() => reject(new Error(`over TCP: ${why}`)));
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
    Bun.connect({
      hostname: upstream.host,
      port: upstream.port,
      socket: {
        open: (s) => {
          s.write(frame(query));
        },
        data: (_s, chunk) => {
          const { messages, error } = framer.push(chunk);
          for (const message of messages) {
            const reply = tryDecode(message);
            if (typeof reply !== "string" && replyMatches(reply, id, question)) finish(() => resolve(reply));
          }
          if (error !== undefined) fail(error);
        },
        close: () => fail("the connection closed before a reply"),
        error: (_s, e) => fail(errorText(e)),
        connectError: (_s, e) => fail(errorText(e)),
      },
    }).then(
      (s) => {
        socket = s;
        if (settled()) s.end();
      },
      (e: unknown) => fail(errorText(e)),
    );
  });
}

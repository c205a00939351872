/**
 * The node's DNS server (the shell): UDP and TCP on one address and port, answering from the
 * cluster zone and forwarding the rest. Nothing a client sends can throw out of a handler: a
 * message that is not DNS is answered FORMERR or dropped, a TCP stream that announces a message
 * over the limit is closed, and each client address is held to its rate (token bucket), its share
 * of TCP connections and its share of upstream queries, so one pod flooding the server does not
 * starve the others.
 */
import type { Socket, TCPSocketListener } from "bun";
import { errorText } from "../base/error-text.ts";
import { unhandled } from "../base/unhandled.ts";
import type { Logger } from "../daemon/log.ts";
import type { Metrics } from "../daemon/metrics.ts";
import { answerQuery, type Transport } from "./answer-query.ts";
import type { ClusterZone } from "./cluster-zone.ts";
import { ConnectionSlots } from "./connection-slots.ts";
import { DnsStats } from "./dns-stats.ts";
import { Forwarder, type ForwarderLimits } from "./forwarder.ts";
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitOptions } from "./rate-limiter.ts";
import { ResponseCache, type ResponseCacheOptions } from "./response-cache.ts";
import { frame, TcpFramer } from "./tcp-framer.ts";
import { parseUpstream } from "./upstream.ts";
import { askUpstreams } from "./upstream-client.ts";

export interface DnsTcpOptions {
  /** Connections open at once; more are closed at once (RFC 7766 §6.2.2 lets a server do so). */
  readonly maxConnections?: number;
  /** Connections open at once from one client (its key, see clientKey); 16 by default. */
  readonly maxConnectionsPerClient?: number;
  /** An idle connection is closed after this many seconds (RFC 7766 §6.2.3). */
  readonly idleSeconds?: number;
  /** The largest query accepted; a longer length prefix closes the connection. */
  readonly maxMessage?: number;
  /** Replies not yet written to a slow reader before its connection is closed. */
  readonly maxPendingBytes?: number;
}

export interface DnsServerOptions {
  readonly address: string;
  /** 53 on a node; 0 picks a free port (UDP first, TCP on the same number). */
  readonly port: number;
  readonly zone: ClusterZone;
  /** Resolvers for names outside the cluster ("IP", "IP:port", "[IPv6]:port"); none: REFUSED. */
  readonly upstreams: readonly string[];
  readonly upstreamTimeoutMs?: number;
  readonly cache?: ResponseCacheOptions;
  readonly rateLimit?: RateLimitOptions;
  /** Per-client and global bounds on questions forwarded upstream (see forwarder.ts). */
  readonly forwarding?: ForwarderLimits;
  readonly tcp?: DnsTcpOptions;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** The clock of the cache and the rate limit (tests move it by hand). */
  readonly clock?: () => number;
  /** How the rate limit tells clients apart: by address (a test's clients share 127.0.0.1). */
  readonly clientKey?: (address: string, port: number) => string;
}

export interface DnsServer {
  readonly port: number;
  readonly stats: DnsStats;
  stop(): void;
}

interface Connection {
  framer: TcpFramer;
  client: string;
  pending: Buffer[];
  pendingBytes: number;
  counted: boolean;
}

/** A query: 12 bytes of header, a name of at most 255, type and class, an OPT with some options. */
const DEFAULT_MAX_QUERY = 4096;
const BIND_ATTEMPTS = 5;

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const upstreams = options.upstreams.map(parseUpstream);
  const stats = new DnsStats(options.metrics);
  const clock = options.clock ?? Date.now;
  const clientKey = options.clientKey ?? ((address: string) => address);
  const limiter = new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  const timeoutMs = options.upstreamTimeoutMs ?? 2000;
  const forwarder = new Forwarder(
    (question, dnssecOk) => askUpstreams(upstreams, question, dnssecOk, timeoutMs),
    new ResponseCache(options.cache),
    clock,
    options.forwarding,
  );
  const recursion = upstreams.length > 0;
  const tcp = {
    maxConnections: options.tcp?.maxConnections ?? 256,
    maxConnectionsPerClient: options.tcp?.maxConnectionsPerClient ?? 16,
    idleSeconds: options.tcp?.idleSeconds ?? 10,
    maxMessage: options.tcp?.maxMessage ?? DEFAULT_MAX_QUERY,
    maxPendingBytes: options.tcp?.maxPendingBytes ?? 256 * 1024,
  };
  let upstreamErrors = 0;

  const handle = (message: Buffer, client: string, transport: Transport, send: (b: Buffer) => void) => {
    const started = performance.now();
    stats.query(transport);
    if (!limiter.allow(client, clock())) return stats.drop("rate-limit");
    try {
      const outcome = answerQuery(message, options.zone, { transport, recursion });
      switch (outcome.kind) {
        case "drop":
          return stats.drop("malformed");
        case "reply":
          send(outcome.message);
          return stats.reply("zone", outcome.rcode, started);
        case "forward":
          forwarder
            .resolve(outcome.request, client)
            .then((f) => {
              // The client may be gone (a closed TCP connection, a stopped server): send may throw.
              send(f.message);
              stats.reply(f.source, f.rcode, started);
              // Once in a while, not per query: a dead upstream fails every outside name.
              if (f.error !== undefined && upstreamErrors++ % 1000 === 0)
                options.log?.warn("DNS upstreams failed", { error: f.error, failures: upstreamErrors });
            })
            .catch(() => stats.drop("error"));
          return;
        default:
          return unhandled(outcome);
      }
    } catch (e) {
      stats.drop("error");
      options.log?.error("DNS query handler failed", { error: errorText(e) });
    }
  };

  const slots = new ConnectionSlots({ max: tcp.maxConnections, perClient: tcp.maxConnectionsPerClient });
  const write = (socket: Socket<Connection>, bytes: Buffer) => {
    const conn = socket.data;
    if (!conn.counted) return; // closed (or refused) meanwhile
    if (conn.pending.length === 0) {
      const n = socket.write(bytes);
      if (n >= bytes.length) return;
      bytes = bytes.subarray(Math.max(0, n));
    }
    conn.pending.push(bytes);
    conn.pendingBytes += bytes.length;
    if (conn.pendingBytes > tcp.maxPendingBytes) socket.end();
  };
  const handlers = {
    open: (socket: Socket<Connection>) => {
      const client = clientKey(socket.remoteAddress, socket.remotePort);
      socket.data = {
        framer: new TcpFramer(tcp.maxMessage),
        client,
        pending: [],
        pendingBytes: 0,
        counted: false,
      };
      const refused = slots.take(client);
      if (refused !== undefined) {
        stats.drop(refused);
        socket.end();
        return;
      }
      socket.data.counted = true;
      socket.timeout(tcp.idleSeconds);
    },
    data: (socket: Socket<Connection>, chunk: Buffer) => {
      if (!socket.data.counted) return;
      const { messages, error } = socket.data.framer.push(chunk);
      for (const message of messages)
        handle(message, socket.data.client, "tcp", (reply) => write(socket, frame(reply)));
      if (error !== undefined) {
        stats.drop("tcp-frame");
        socket.end();
      }
    },
    drain: (socket: Socket<Connection>) => {
      const conn = socket.data;
      while (conn.pending.length > 0) {
        const head = conn.pending[0] as Buffer;
        const n = socket.write(head);
        conn.pendingBytes -= Math.max(0, n);
        if (n < head.length) {
          conn.pending[0] = head.subarray(Math.max(0, n));
          return;
        }
        conn.pending.shift();
      }
    },
    timeout: (socket: Socket<Connection>) => {
      socket.end();
    },
    close: (socket: Socket<Connection>) => {
      if (socket.data?.counted) slots.release(socket.data.client);
      if (socket.data) {
        socket.data.counted = false;
        socket.data.pending = [];
        socket.data.pendingBytes = 0;
      }
    },
    error: () => {},
  };
  const openUdp = () =>
    Bun.udpSocket({
      hostname: options.address,
      port,
      socket: {
        data: (socket, data, fromPort, address, flags) => {
          if (flags.truncated) return stats.drop("malformed");
          const message = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
          handle(message, clientKey(address, fromPort), "udp", (reply) => {
            socket.send(reply, fromPort, address);
          });
        },
        error: (_s, e) => options.log?.warn("DNS UDP socket error", { error: errorText(e) }),
      },
    });
  // Port 0: the UDP port is the kernel's choice, and TCP may find that number taken; try again.
  let port = options.port;
  let bound: { udp: Awaited<ReturnType<typeof openUdp>>; tcp: TCPSocketListener<Connection> } | undefined;
  let lastError: unknown;
  for (let attempt = 0; attempt < BIND_ATTEMPTS && bound === undefined; attempt++) {
    port = options.port;
    const udp = await openUdp();
    try {
      const tcp = Bun.listen<Connection>({ hostname: options.address, port: udp.port, socket: handlers });
      bound = { udp, tcp };
    } catch (e) {
      lastError = e;
      udp.close();
      if (options.port !== 0) break;
    }
  }
  if (bound === undefined)
    throw new Error(
      `Cannot serve DNS over TCP on ${options.address}:${options.port}: ${errorText(lastError)}`,
    );
  const { udp, tcp: tcpListener } = bound;
  options.log?.info("serving DNS", {
    address: options.address,
    port: udp.port,
    domain: options.zone.domain,
    upstreams: options.upstreams,
  });

  return {
    port: udp.port,
    stats,
    stop: () => {
      udp.close();
      tcpListener.stop(true);
    },
  };
}

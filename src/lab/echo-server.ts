/**
 * The program every lab pod runs: on each TCP connection and each UDP datagram it answers with one
 * JSON object saying who it is (pod name, the address the client reached, its network namespace)
 * and who it sees as the client. That reply is the evidence `lab check` reasons about.
 */
import type { RemoteInfo, Socket as UdpSocket } from "node:dgram";
import { createSocket } from "node:dgram";
import { readlinkSync } from "node:fs";
import type { AddressInfo, Server, Socket } from "node:net";
import { createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { errorText } from "../base/error-text.ts";
import { formatIP, tryParseIP } from "../ipnet/address.ts";
import { containsIP, parsePrefix } from "../ipnet/prefix.ts";
import type { EchoReply } from "./echo-reply.ts";
import { bareAddress } from "./echo-reply.ts";

export type { EchoProbe, EchoProto, EchoReply } from "./echo-reply.ts";

const RESCAN_MS = 2000;
const LOOPBACK = ["127.0.0.1", "::1"];
// Other loopback and link-local addresses are not how pods or Services are reached.
const NOT_SERVED = ["127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10"].map((p) => parsePrefix(p));

export function ownNetns(): string {
  return readlinkSync("/proc/self/ns/net");
}

/**
 * The addresses to bind one UDP socket each on: loopback plus every other non-link-local address of
 * the namespace. One socket per address because a socket bound to the wildcard cannot tell which
 * local address a datagram arrived on without IP_PKTINFO, and its replies would leave from
 * whatever source the route picks rather than the address the client sent to.
 */
export function echoUdpAddresses(
  interfaces: Readonly<Record<string, readonly { readonly address: string }[] | undefined>>,
): string[] {
  const seen = new Set(LOOPBACK);
  for (const list of Object.values(interfaces)) {
    for (const { address } of list ?? []) {
      const ip = tryParseIP(address);
      if (!ip || NOT_SERVED.some((p) => containsIP(p, ip))) continue;
      seen.add(formatIP(ip));
    }
  }
  return [...seen];
}

export interface EchoServer {
  /** The port served over TCP and UDP (the ephemeral one the kernel chose when 0 was asked for). */
  readonly port: number;
  /** The local addresses that have a bound UDP socket right now. */
  udpAddresses(): string[];
  /** Stops serving: closes the TCP listener, its connections, every UDP socket and the rescan timer. */
  close(): Promise<void>;
}

export interface EchoServeOptions {
  /** Where to serve UDP; re-read every `rescanMs`. Defaults to `echoUdpAddresses(networkInterfaces())`. */
  readonly listAddresses?: () => readonly string[];
  readonly rescanMs?: number;
  /** Later UDP events (an address bound or given up, a failed send). Defaults to stderr. */
  readonly log?: (line: string) => void;
}

type ReplyFor = (seen: Pick<EchoReply, "ip" | "from" | "fromPort" | "proto">) => string;

function errnoCode(e: unknown): string | undefined {
  return e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

/**
 * Serves the echo on TCP (one dual-stack listener on "::") and on UDP (one socket per local
 * address, kept in step with the namespace's addresses). Resolves once both are ready.
 */
export async function serveEcho(
  pod: string,
  port: number,
  options: EchoServeOptions = {},
): Promise<EchoServer> {
  const netns = ownNetns();
  const log = options.log ?? ((line: string) => console.error(line));
  const listAddresses = options.listAddresses ?? (() => echoUdpAddresses(networkInterfaces()));
  const replyFor: ReplyFor = (seen) =>
    JSON.stringify({
      pod,
      ip: seen.ip,
      from: seen.from,
      fromPort: seen.fromPort,
      pid: process.pid,
      netns,
      proto: seen.proto,
    } satisfies EchoReply);

  const tcp = await listenTcp(port, replyFor, log);
  const udp = new UdpEcho((tcp.server.address() as AddressInfo).port, replyFor, log);
  try {
    await udp.sync(listAddresses(), true);
  } catch (e) {
    await Promise.all([udp.close(), tcp.close()]);
    throw e;
  }
  // Addresses can appear after start (IPv6 ones stay unbindable while duplicate address detection
  // runs, an interface can be added later): rescan instead of serving a stale set.
  const timer = setInterval(() => {
    Promise.resolve()
      .then(() => udp.sync(listAddresses(), false))
      .catch((e: unknown) => log(`echo server: UDP rescan failed: ${errorText(e)}`));
  }, options.rescanMs ?? RESCAN_MS);
  timer.unref();
  return {
    port: udp.port,
    udpAddresses: () => udp.addresses(),
    close: async () => {
      clearInterval(timer);
      await Promise.all([udp.close(), tcp.close()]);
    },
  };
}

async function listenTcp(
  port: number,
  replyFor: ReplyFor,
  log: (line: string) => void,
): Promise<{ server: Server; close: () => Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.end(
      `${replyFor({
        ip: bareAddress(socket.localAddress),
        from: bareAddress(socket.remoteAddress),
        fromPort: socket.remotePort ?? 0,
        proto: "tcp",
      })}\n`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "::", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => log(`echo server: TCP listener on port ${port} failed: ${e.message}`));
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One UDP socket per local address, all on the same port. */
class UdpEcho {
  private readonly sockets = new Map<string, UdpSocket>();
  /** The last bind failure reported per address, so a rescan does not repeat it every time. */
  private readonly failures = new Map<string, string>();
  private syncing = false;
  private closed = false;

  constructor(
    readonly port: number,
    private readonly replyFor: ReplyFor,
    private readonly log: (line: string) => void,
  ) {}

  addresses(): string[] {
    return [...this.sockets.keys()];
  }

  /**
   * Binds the wanted addresses that have no socket yet and closes the sockets of addresses that
   * are gone. On the first sync any failure but EADDRNOTAVAIL (e.g. the port is taken) is fatal;
   * later ones are reported once and retried on the next rescan.
   */
  async sync(wanted: readonly string[], first: boolean): Promise<void> {
    if (this.closed || this.syncing) return;
    this.syncing = true;
    try {
      const keep = new Set(wanted);
      for (const [address, socket] of this.sockets) {
        if (keep.has(address)) continue;
        this.sockets.delete(address);
        socket.close();
        this.log(`echo server: stopped serving UDP on ${address}: the address is gone`);
      }
      const missing = [...keep].filter((a) => !this.sockets.has(a));
      const results = await Promise.allSettled(missing.map((a) => this.bind(a)));
      let fatal: Error | undefined;
      results.forEach((result, i) => {
        const address = missing[i] as string;
        if (result.status === "fulfilled") {
          if (!first) this.log(`echo server: now serving UDP on ${address} port ${this.port}`);
          this.failures.delete(address);
          return;
        }
        const reason = errorText(result.reason);
        const message = `cannot serve UDP on ${address} port ${this.port}: ${reason}`;
        if (first && errnoCode(result.reason) !== "EADDRNOTAVAIL") fatal ??= new Error(message);
        else if (this.failures.get(address) !== reason) {
          this.failures.set(address, reason);
          this.log(`echo server: ${message} (retrying every rescan)`);
        }
      });
      if (fatal) throw fatal;
    } finally {
      this.syncing = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private bind(address: string): Promise<void> {
    const socket = createSocket(address.includes(":") ? "udp6" : "udp4");
    return new Promise((resolve, reject) => {
      const failed = (e: Error) => {
        socket.close();
        reject(e);
      };
      socket.once("error", failed);
      socket.bind(this.port, address, () => {
        socket.off("error", failed);
        if (this.closed) {
          socket.close();
          resolve();
          return;
        }
        socket.on("error", (e) => this.log(`echo server: UDP socket on ${address} failed: ${e.message}`));
        socket.on("message", (_data, sender) => this.answer(socket, address, sender));
        this.sockets.set(address, socket);
        resolve();
      });
    });
  }

  private answer(socket: UdpSocket, address: string, sender: RemoteInfo): void {
    const body = this.replyFor({
      ip: address,
      from: bareAddress(sender.address),
      fromPort: sender.port,
      proto: "udp",
    });
    try {
      socket.send(body, sender.port, sender.address, (e) => {
        if (e) this.log(`echo server: cannot answer ${sender.address}:${sender.port} over UDP: ${e.message}`);
      });
    } catch (e) {
      // The socket was closed by a rescan between the datagram and the answer.
      this.log(`echo server: cannot answer ${sender.address}:${sender.port} over UDP: ${String(e)}`);
    }
  }
}

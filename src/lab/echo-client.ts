/**
 * The lab's echo client: one TCP connection or one UDP exchange with an echo server, reporting the
 * server's reply together with what the client itself saw (who answered, from which local address).
 */
import { createSocket } from "node:dgram";
import { createConnection, isIP } from "node:net";
import { errorText } from "../base/error-text.ts";
import { hostPort } from "../ipnet/host-port.ts";
import type { EchoProbe, EchoReply } from "./echo-reply.ts";
import { bareAddress, parseEchoReply } from "./echo-reply.ts";
import { ownNetns } from "./echo-server.ts";

/** UDP may lose the first datagram while the path's neighbours are resolved (ARP/NDP queue limits). */
const UDP_ATTEMPTS = 3;
const UDP_PAYLOAD = "podnet echo probe\n";

export class EchoProbeError extends Error {
  override readonly name = "EchoProbeError";
}

function probeResult(
  reply: EchoReply,
  seen: { replyFrom: string; localIp: string; localPort: number },
): EchoProbe {
  return { reply, clientNetns: ownNetns(), clientPid: process.pid, ...seen };
}

/** One TCP connection: the server writes its reply line and closes. */
export function probeEcho(host: string, port: number, timeoutMs: number): Promise<EchoProbe> {
  const where = hostPort(host, port);
  return new Promise((resolve, reject) => {
    let data = "";
    let seen: { replyFrom: string; localIp: string; localPort: number } | undefined;
    let settled = false;
    const socket = createConnection({ host, port });
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const timer = setTimeout(
      () => finish(() => reject(new EchoProbeError(`no TCP answer from ${where} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      // Read now: after the server closes, the addresses of a destroyed socket are gone.
      seen = {
        replyFrom: bareAddress(socket.remoteAddress),
        localIp: bareAddress(socket.localAddress),
        localPort: socket.localPort ?? 0,
      };
    });
    socket.on("data", (chunk: string) => {
      data += chunk;
    });
    socket.on("error", (e) =>
      finish(() => reject(new EchoProbeError(`cannot reach ${where}: ${e.message}`))),
    );
    socket.on("end", () =>
      finish(() => {
        try {
          if (!seen) throw new Error("the connection ended before it was established");
          resolve(probeResult(parseEchoReply(data.trim()), seen));
        } catch (e) {
          reject(new EchoProbeError(`unexpected answer from ${where}: ${errorText(e)}`));
        }
      }),
    );
  });
}

/**
 * The local address the kernel would send from to reach host:port. Connecting a UDP socket sends
 * nothing; it only runs the route lookup, which also fails early when there is no route at all.
 */
function sourceAddressFor(host: string, port: number): Promise<string> {
  const socket = createSocket(isIP(host) === 6 ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    const failed = (e: Error): void => {
      socket.close();
      reject(new EchoProbeError(`cannot reach ${hostPort(host, port)}: ${e.message}`));
    };
    socket.once("error", failed);
    // Node hands a failed connect to the callback when there is one, not to "error".
    socket.connect(port, host, (e?: Error) => {
      if (e) return failed(e);
      const { address } = socket.address();
      socket.close();
      resolve(bareAddress(address));
    });
  });
}

/**
 * One UDP exchange, sent up to three times within `timeoutMs`, from `localPort` when given (so
 * several probes keep one 5-tuple, as a DNS resolver does, and share one conntrack entry).
 * `replyFrom` is the source address of the reply datagram. The socket stays unconnected on
 * purpose: a connected UDP socket drops datagrams from any other source, which would turn a reply
 * that escaped un-DNAT (coming from the pod, not the ClusterIP) into a silent timeout instead of
 * evidence.
 */
export async function probeEchoUdp(
  host: string,
  port: number,
  timeoutMs: number,
  localPort?: number,
): Promise<EchoProbe> {
  const family = isIP(host);
  const where = hostPort(host, port);
  if (family === 0)
    throw new EchoProbeError(`cannot probe ${where} over UDP: "${host}" is not an IP address`);
  const localIp = await sourceAddressFor(host, port);
  const socket = createSocket(family === 6 ? "udp6" : "udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (e) => {
      socket.close();
      reject(new EchoProbeError(`cannot bind a UDP socket to local port ${localPort ?? 0}: ${e.message}`));
    });
    socket.bind(localPort ?? 0, () => {
      socket.removeAllListeners("error");
      resolve();
    });
  });
  const boundPort = socket.address().port;
  return await new Promise<EchoProbe>((resolve, reject) => {
    let settled = false;
    let sent = 0;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      socket.close();
      outcome();
    };
    const send = (): void => {
      sent++;
      socket.send(UDP_PAYLOAD, port, host, (e) => {
        if (e) finish(() => reject(new EchoProbeError(`cannot send to ${where} over UDP: ${e.message}`)));
      });
    };
    socket.on("error", (e) =>
      finish(() => reject(new EchoProbeError(`UDP probe of ${where} failed: ${e.message}`))),
    );
    socket.on("message", (data, sender) =>
      finish(() => {
        try {
          const reply = parseEchoReply(data.toString("utf8").trim());
          resolve(
            probeResult(reply, { replyFrom: bareAddress(sender.address), localIp, localPort: boundPort }),
          );
        } catch (e) {
          reject(
            new EchoProbeError(
              `unexpected UDP answer from ${hostPort(sender.address, sender.port)}: ${errorText(e)}`,
            ),
          );
        }
      }),
    );
    send();
    for (let i = 1; i < UDP_ATTEMPTS; i++) {
      timers.push(setTimeout(send, Math.floor((timeoutMs * i) / UDP_ATTEMPTS)));
    }
    timers.push(
      setTimeout(
        () =>
          finish(() =>
            reject(
              new EchoProbeError(
                `no UDP answer from ${where} within ${timeoutMs} ms (${sent} datagrams sent from local port ${boundPort})`,
              ),
            ),
          ),
        timeoutMs,
      ),
    );
  });
}

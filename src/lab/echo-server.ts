/**
 * The program every lab pod runs: on each TCP connection it answers with one JSON line saying who
 * it is (pod name, the address the client reached, its network namespace) and who it sees as
 * the client. That reply is the evidence `lab check` reasons about.
 */
import { readlinkSync } from "node:fs";
import { createConnection, createServer } from "node:net";

export interface EchoReply {
  readonly pod: string;
  /** The address the connection arrived on (the server's side). */
  readonly ip: string;
  /** The client address as the server sees it: proves or disproves NAT. */
  readonly from: string;
  readonly fromPort: number;
  readonly pid: number;
  /** Network namespace identity of the server ("net:[4026532...]"). */
  readonly netns: string;
}

export function ownNetns(): string {
  return readlinkSync("/proc/self/ns/net");
}

function bare(address: string | undefined): string {
  // IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d
  return (address ?? "").replace(/^::ffff:/, "");
}

export function serveEcho(pod: string, port: number): Promise<void> {
  const netns = ownNetns();
  const server = createServer((socket) => {
    const reply: EchoReply = {
      pod,
      ip: bare(socket.localAddress),
      from: bare(socket.remoteAddress),
      fromPort: socket.remotePort ?? 0,
      pid: process.pid,
      netns,
    };
    socket.end(`${JSON.stringify(reply)}\n`);
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "::", () => {
      console.log(`echo server for ${pod} listening on port ${port} (${netns})`);
      resolve();
    });
  });
}

export interface EchoProbe {
  readonly reply: EchoReply;
  /** The client's own network namespace, to compare with the server's. */
  readonly clientNetns: string;
  readonly clientPid: number;
}

export function probeEcho(host: string, port: number, timeoutMs: number): Promise<EchoProbe> {
  return new Promise((resolve, reject) => {
    let data = "";
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      data += chunk;
    });
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach ${host}:${port}: ${e.message}`));
    });
    socket.on("end", () => {
      clearTimeout(timer);
      try {
        resolve({
          reply: JSON.parse(data.trim()) as EchoReply,
          clientNetns: ownNetns(),
          clientPid: process.pid,
        });
      } catch {
        reject(new Error(`unexpected answer from ${host}:${port}: ${data.slice(0, 200)}`));
      }
    });
  });
}

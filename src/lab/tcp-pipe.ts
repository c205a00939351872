/**
 * The byte pipes of `lab ui`'s relay (the lab's etcd case): Bun's TCP sockets write unbuffered —
 * a write may take only part of the data when the peer is slow — so every write here waits for
 * the socket to drain before the next, and reading pauses while the other side is full. A page
 * that stops reading therefore stalls its pipe end to end instead of growing any buffer.
 */
import type { Socket } from "bun";
import { isLoopback, parseListenAddress } from "../ui/listen-address.ts";

export class TcpPipeError extends Error {
  override readonly name = "TcpPipeError";
}

/** What a socket needs for writeAll: its `drain` handler calls `drained()` of this. */
export class DrainWaiter {
  private waiting: (() => void) | undefined;

  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Called from the socket's drain and close handlers. */
  drained(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}

/** Writes all of `data`, waiting for the socket to drain whenever it takes only part. */
export async function writeAll(
  socket: Socket<unknown>,
  waiter: DrainWaiter,
  data: Uint8Array,
): Promise<void> {
  let rest = data;
  while (rest.length > 0) {
    const n = socket.write(rest);
    if (n < 0) throw new TcpPipeError("the connection closed while writing to it");
    rest = rest.subarray(n);
    if (rest.length > 0) await waiter.wait();
  }
}

/** `lab tcp-pipe ADDR:PORT` (hidden): stdin → a TCP connection → stdout, until either side ends. */
export async function labTcpPipe(target: string): Promise<number> {
  const { hostname, port } = parseListenAddress(target);
  if (!isLoopback(hostname)) throw new TcpPipeError(`tcp-pipe ${target}: only loopback targets`);
  const waiter = new DrainWaiter();
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const socket = await Bun.connect({
    hostname,
    port,
    socket: {
      data(s, data) {
        // stdout full (the relay's client reads slowly): stop reading until it drains.
        if (!process.stdout.write(data)) {
          s.pause();
          process.stdout.once("drain", () => s.resume());
        }
      },
      drain() {
        waiter.drained();
      },
      close() {
        waiter.drained();
        finish();
      },
      error() {
        waiter.drained();
        finish();
      },
    },
  });
  (async () => {
    for await (const chunk of Bun.stdin.stream()) await writeAll(socket, waiter, chunk);
    socket.shutdown();
  })().catch(() => socket.end());
  await finished;
  return 0;
}

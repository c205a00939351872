/**
 * The TCP relay of `lab ui` (the lab's etcd case): every connection accepted here is copied both
 * ways through a pipe process (`lab tcp-pipe` inside node1's namespace). Each pipe is a whole
 * process, so at most `maxPipes` run at once and further connections are closed at once; both
 * directions wait for the other side (a page or a pipe that stops reading stalls its connection
 * instead of growing a buffer).
 */
import { DrainWaiter, writeAll } from "./tcp-pipe.ts";

export const RELAY_MAX_PIPES = 32;

type Pipe = Bun.Subprocess<"pipe", "pipe", "ignore">;

export interface PipeRelay {
  /** The port it listens on (the real one when asked for port 0). */
  readonly port: number;
  /** Pipes running now. */
  pipes(): number;
  /** Stops listening and kills every pipe. */
  stop(): void;
}

interface Conn {
  pipe?: Pipe;
  waiter: DrainWaiter;
}

export function startPipeRelay(
  hostname: string,
  port: number,
  dial: () => Pipe,
  maxPipes = RELAY_MAX_PIPES,
): PipeRelay {
  const pipes = new Set<Pipe>();
  const listener = Bun.listen<Conn>({
    hostname,
    port,
    socket: {
      open(socket) {
        socket.data = { waiter: new DrainWaiter() };
        if (pipes.size >= maxPipes) {
          socket.end();
          return;
        }
        const pipe = dial();
        socket.data.pipe = pipe;
        pipes.add(pipe);
        pipe.exited.then(() => pipes.delete(pipe));
        const waiter = socket.data.waiter;
        // The next chunk is read only once the page took the last: a slow page stalls its pipe.
        (async () => {
          for await (const chunk of pipe.stdout) await writeAll(socket, waiter, chunk);
          socket.end();
        })().catch(() => socket.end());
      },
      data(socket, data) {
        const pipe = socket.data.pipe;
        if (pipe === undefined) return;
        try {
          pipe.stdin.write(data);
          const flushed = pipe.stdin.flush();
          // The pipe's stdin is full: read no more from the page until it took this chunk.
          if (flushed instanceof Promise) {
            socket.pause();
            flushed.then(
              () => socket.resume(),
              () => socket.end(),
            );
          }
        } catch {
          // The pipe exited: the connection has nowhere to go.
          socket.end();
        }
      },
      drain(socket) {
        socket.data.waiter.drained();
      },
      close(socket) {
        socket.data.waiter.drained();
        socket.data.pipe?.kill();
      },
    },
  });
  return {
    port: listener.port,
    pipes: () => pipes.size,
    stop() {
      listener.stop(true);
      for (const p of pipes) p.kill();
    },
  };
}

import { expect, test } from "bun:test";
import type { Socket } from "bun";
import { DrainWaiter, TcpPipeError, writeAll } from "./tcp-pipe.ts";

/** A socket that takes at most `room` bytes a write, as a full kernel buffer does. */
function slowSocket(room: number, closed = false) {
  const written: number[] = [];
  const socket = {
    write(data: Uint8Array) {
      if (closed) return -1;
      const n = Math.min(room, data.length);
      written.push(...data.subarray(0, n));
      return n;
    },
  } as unknown as Socket<unknown>;
  return { socket, written };
}

test("writeAll writes every byte, waiting for a drain after each partial write", async () => {
  const { socket, written } = slowSocket(3);
  const waiter = new DrainWaiter();
  const data = Uint8Array.from({ length: 10 }, (_, i) => i);
  let done = false;
  const writing = writeAll(socket, waiter, data).then(() => {
    done = true;
  });
  await Bun.sleep(1);
  expect(written).toEqual([0, 1, 2]);
  expect(done).toBe(false);
  for (let i = 0; i < 3; i++) {
    waiter.drained();
    await Bun.sleep(1);
  }
  await writing;
  expect(written).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("writeAll fails on a closed socket instead of dropping the data silently", async () => {
  const { socket } = slowSocket(3, true);
  await expect(writeAll(socket, new DrainWaiter(), new Uint8Array(4))).rejects.toThrow(TcpPipeError);
});

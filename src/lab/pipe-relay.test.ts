import { afterEach, expect, test } from "bun:test";
import { pollUntil } from "../base/poll-until.ts";
import { type PipeRelay, startPipeRelay } from "./pipe-relay.ts";

let relay: PipeRelay | undefined;
afterEach(() => relay?.stop());

/** `cat` stands in for `lab tcp-pipe`: it copies stdin to stdout, so the relay echoes. */
const cat = () =>
  Bun.spawn(["cat"], { stdin: "pipe", stdout: "pipe", stderr: "ignore" }) as Bun.Subprocess<
    "pipe",
    "pipe",
    "ignore"
  >;

/** Connects, sends `text`, and collects what comes back until the relay closes or `want` arrived. */
async function exchange(
  port: number,
  text: string,
  want: number,
): Promise<{ got: string; closed: boolean; end: () => void }> {
  let got = "";
  let closed = false;
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        got += new TextDecoder().decode(d);
      },
      close() {
        closed = true;
      },
    },
  });
  socket.write(text);
  await pollUntil("the echo or the close", () => closed || got.length >= want, 5000, { intervalMs: 10 });
  return { got, closed, end: () => socket.end() };
}

test("relays both ways through the pipe process", async () => {
  relay = startPipeRelay("127.0.0.1", 0, cat);
  expect(relay.port).toBeGreaterThan(0);
  const big = "x".repeat(1 << 20);
  const r = await exchange(relay.port, big, big.length);
  r.end();
  expect(r.got.length).toBe(big.length);
});

test("refuses connections beyond the cap instead of starting more pipes", async () => {
  relay = startPipeRelay("127.0.0.1", 0, cat, 2);
  const port = relay.port;
  const held = await Promise.all([exchange(port, "a", 1), exchange(port, "b", 1)]);
  expect(held.map((h) => h.got)).toEqual(["a", "b"]);
  expect(relay.pipes()).toBe(2);
  const third = await exchange(port, "c", 1);
  expect(third).toMatchObject({ got: "", closed: true });
  expect(relay.pipes()).toBe(2);
  for (const h of held) h.end();
});

test("stop kills every pipe", async () => {
  const r = startPipeRelay("127.0.0.1", 0, cat);
  relay = r;
  await exchange(r.port, "a", 1);
  r.stop();
  await pollUntil("the pipes to exit", () => r.pipes() === 0, 5000, { intervalMs: 10 });
});

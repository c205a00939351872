import { expect, test } from "bun:test";
import { untilSignal } from "./until-signal.ts";

test("untilSignal resolves with the first SIGINT/SIGTERM and removes its listeners", async () => {
  const before = { int: process.listenerCount("SIGINT"), term: process.listenerCount("SIGTERM") };
  const waiting = untilSignal();
  expect(process.listenerCount("SIGTERM")).toBe(before.term + 1);
  process.emit("SIGTERM");
  expect(await waiting).toBe("SIGTERM");
  expect({ int: process.listenerCount("SIGINT"), term: process.listenerCount("SIGTERM") }).toEqual(before);
});

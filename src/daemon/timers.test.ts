import { describe, expect, test } from "bun:test";
import { Timers } from "./timers.ts";

describe("Timers", () => {
  test("a fired timeout is forgotten, so retries do not pile up", async () => {
    const timers = new Timers();
    let fired = 0;
    for (let i = 0; i < 100; i++)
      timers.after(1, () => {
        fired += 1;
      });
    expect(timers.pending).toBe(100);
    await new Promise((r) => setTimeout(r, 20));
    expect(fired).toBe(100);
    expect(timers.pending).toBe(0);
  });

  test("clear stops intervals and timeouts that have not fired", async () => {
    const timers = new Timers();
    let ticks = 0;
    timers.every(2, () => {
      ticks += 1;
    });
    timers.after(5, () => {
      ticks += 1000;
    });
    timers.clear();
    expect(timers.pending).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(ticks).toBe(0);
  });
});

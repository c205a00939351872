import { describe, expect, test } from "bun:test";
import { PollTimeoutError, pollUntil } from "./poll-until.ts";

describe("pollUntil", () => {
  test("returns the first value that is neither undefined nor false, with the time it took", async () => {
    let calls = 0;
    const { value, ms } = await pollUntil("the third call", () => (++calls === 3 ? "done" : false), 1000, {
      intervalMs: 5,
    });
    expect(value).toBe("done");
    expect(calls).toBe(3);
    expect(ms).toBeGreaterThanOrEqual(0);
  });

  test("keeps falsy values other than undefined and false (0, an empty string)", async () => {
    expect((await pollUntil("zero", () => 0, 100)).value).toBe(0);
    expect((await pollUntil("empty", async () => "", 100)).value).toBe("");
  });

  test("times out with what it waited for and the detail", async () => {
    const error = await pollUntil("never", () => undefined, 30, {
      intervalMs: 5,
      detail: () => "agent log tail",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PollTimeoutError);
    expect((error as Error).message).toBe("timed out after 30 ms waiting for never\nagent log tail");
  });

  test("an exception from the check ends the wait at once", async () => {
    const started = Date.now();
    const error = await pollUntil(
      "a dead process",
      () => {
        throw new Error("exited (1)");
      },
      10_000,
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe("exited (1)");
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

import { describe, expect, test } from "bun:test";
import { pollUntil } from "../base/poll-until.ts";
import { SyncLoop } from "./sync-loop.ts";

/** A sync that waits until released, so tests control when each one ends. */
function gatedSync() {
  const reasons: string[] = [];
  const gates: Array<() => void> = [];
  let failNext = 0;
  return {
    reasons,
    fail(n: number) {
      failNext = n;
    },
    release() {
      gates.shift()?.();
    },
    get waiting() {
      return gates.length;
    },
    sync: (reason: string) =>
      new Promise<void>((resolve, reject) => {
        reasons.push(reason);
        gates.push(() => {
          if (failNext > 0) {
            failNext -= 1;
            reject(new Error(`sync "${reason}" failed`));
          } else resolve();
        });
      }),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("SyncLoop", () => {
  test("many requests during a running sync give exactly one more sync", async () => {
    const s = gatedSync();
    const loop = new SyncLoop({ sync: s.sync, failed: () => {}, firstRetryMs: 10, maxRetryMs: 100 });
    loop.request("first");
    for (let i = 0; i < 50; i++) loop.request(`event ${i}`);
    expect(s.reasons).toEqual(["first"]);
    s.release();
    await tick();
    expect(s.reasons).toEqual(["first", "event 0"]);
    s.release();
    await loop.idle();
    expect(s.reasons).toEqual(["first", "event 0"]);
  });

  test("a failed sync is retried with a doubling delay, one retry pending at a time", async () => {
    const failures: Array<{ reason: string; retryInMs: number }> = [];
    let calls = 0;
    const loop = new SyncLoop({
      sync: async () => {
        calls += 1;
        if (calls <= 3) throw new Error("datastore unavailable");
      },
      failed: (_e, reason, retryInMs) => failures.push({ reason, retryInMs }),
      firstRetryMs: 5,
      maxRetryMs: 12,
    });
    loop.request("start");
    await pollUntil("the fourth call", () => calls >= 4, 2000, { intervalMs: 2 });
    await loop.idle();
    expect(calls).toBe(4);
    expect(failures.map((f) => f.retryInMs)).toEqual([5, 10, 12]);
    expect(failures[0]?.reason).toBe("start");
    expect(failures.slice(1).every((f) => f.reason === "retry")).toBe(true);
    // After the success nothing else is pending: no more calls arrive.
    await new Promise((r) => setTimeout(r, 40));
    expect(calls).toBe(4);
    await loop.stop();
  });

  test("failures while a retry is pending add no second retry", async () => {
    const reasons: string[] = [];
    const loop = new SyncLoop({
      sync: async (reason) => {
        reasons.push(reason);
        if (reasons.length <= 3) throw new Error("nft refused the transaction");
      },
      failed: () => {},
      firstRetryMs: 5,
      maxRetryMs: 5,
    });
    loop.request("start");
    loop.request("event"); // queued behind the failing sync, fails too while the retry waits
    await pollUntil("the fourth sync", () => reasons.length >= 4, 2000, { intervalMs: 2 });
    await loop.idle();
    await new Promise((r) => setTimeout(r, 30));
    // One retry after the two early failures, a second after the retry's failure, then quiet.
    expect(reasons).toEqual(["start", "event", "retry", "retry"]);
    await loop.stop();
  });

  test("requests within the coalescing window are served by one sync; flush skips the wait", async () => {
    const reasons: string[] = [];
    const loop = new SyncLoop({
      sync: async (r) => {
        reasons.push(r);
      },
      failed: () => {},
      firstRetryMs: 10,
      maxRetryMs: 100,
      coalesceMs: 20,
    });
    loop.request("a");
    loop.request("b");
    loop.request("c");
    expect(reasons).toEqual([]);
    await new Promise((r) => setTimeout(r, 40));
    await loop.idle();
    expect(reasons).toEqual(["a"]);
    await loop.flush("now");
    expect(reasons).toEqual(["a", "now"]);
    await loop.stop();
  });

  test("stop waits for the running sync and starts nothing after it", async () => {
    const s = gatedSync();
    const loop = new SyncLoop({ sync: s.sync, failed: () => {}, firstRetryMs: 1, maxRetryMs: 1 });
    loop.request("first");
    loop.request("queued");
    let stopped = false;
    const stopping = loop.stop().then(() => {
      stopped = true;
    });
    await tick();
    expect(stopped).toBe(false);
    s.release();
    await stopping;
    expect(s.reasons).toEqual(["first"]);
    loop.request("after stop");
    await tick();
    expect(s.reasons).toEqual(["first"]);
    expect(s.waiting).toBe(0);
  });

  test("a failure during stop schedules no retry", async () => {
    const s = gatedSync();
    let failures = 0;
    const loop = new SyncLoop({
      sync: s.sync,
      failed: () => {
        failures += 1;
      },
      firstRetryMs: 1,
      maxRetryMs: 1,
    });
    s.fail(1);
    loop.request("first");
    const stopping = loop.stop();
    s.release();
    await stopping;
    await new Promise((r) => setTimeout(r, 10));
    expect(failures).toBe(1);
    expect(s.reasons).toEqual(["first"]);
  });
});

import { describe, expect, test } from "bun:test";
import { pollUntil } from "../base/poll-until.ts";
import type { Watch } from "../store/store.ts";
import { WatchKeeper } from "./watch-keeper.ts";

class FakeWatch implements Watch {
  closed = false;
  close(): void {
    this.closed = true;
  }
}

describe("WatchKeeper", () => {
  test("a failed watch is closed, opened again after the pause, and a sync requested", async () => {
    const opened: FakeWatch[] = [];
    const errors: string[] = [];
    let fail: (e: Error) => void = () => {};
    let reopened = 0;
    let refuse = 0;
    const keeper = new WatchKeeper({
      open: async (failed) => {
        if (refuse > 0) {
          refuse -= 1;
          throw new Error("datastore unavailable");
        }
        fail = failed;
        const w = new FakeWatch();
        opened.push(w);
        return [w];
      },
      reopened: () => {
        reopened += 1;
      },
      failed: (e) => errors.push(e.message),
      retryMs: 5,
    });
    await keeper.open();
    expect(opened.length).toBe(1);
    refuse = 2; // the first two attempts to open again fail: retried until it works
    fail(new Error("watch lost"));
    fail(new Error("watch lost again")); // a second report while waiting adds no second timer
    expect(opened[0]?.closed).toBe(true);
    await pollUntil("the watch to be opened again", () => reopened === 1, 2000, { intervalMs: 2 });
    expect(opened.length).toBe(2);
    expect(opened[1]?.closed).toBe(false);
    expect(errors).toEqual([
      "watch lost",
      "watch lost again",
      "datastore unavailable",
      "datastore unavailable",
    ]);
    keeper.close();
    expect(opened[1]?.closed).toBe(true);
  });

  test("nothing is reopened after close", async () => {
    let opens = 0;
    let fail: (e: Error) => void = () => {};
    const keeper = new WatchKeeper({
      open: async (failed) => {
        opens += 1;
        fail = failed;
        return [new FakeWatch()];
      },
      reopened: () => {},
      failed: () => {},
      retryMs: 1,
    });
    await keeper.open();
    fail(new Error("lost"));
    keeper.close();
    await new Promise((r) => setTimeout(r, 15));
    expect(opens).toBe(1);
  });
});

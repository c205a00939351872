import { describe, expect, test } from "bun:test";
import { WorkChains } from "./work-chains.ts";

/** A promise and the function that resolves it, to hold a piece of work open. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe("WorkChains", () => {
  test("work under one key runs in order; another key does not wait for it", async () => {
    const done: string[] = [];
    const chains = new WorkChains(() => {});
    const first = gate();
    chains.enqueue("a", async () => {
      await first.opened;
      done.push("a1");
    });
    chains.enqueue("a", async () => {
      done.push("a2");
    });
    chains.enqueue("b", async () => {
      done.push("b1");
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toEqual(["b1"]);
    first.open();
    await chains.drain();
    expect(done).toEqual(["b1", "a1", "a2"]);
  });

  test("a failure is handed over with its key and the chain goes on", async () => {
    const failures: [string, unknown][] = [];
    const done: string[] = [];
    const chains = new WorkChains((key, e) => failures.push([key, e]));
    const boom = new Error("cannot write /podnet/diagnosis/x: lease not found");
    chains.enqueue("x", async () => {
      throw boom;
    });
    chains.enqueue("x", async () => {
      done.push("after");
    });
    await chains.drain();
    expect(failures).toEqual([["x", boom]]);
    expect(done).toEqual(["after"]);
  });
});

import { describe, expect, test } from "bun:test";
import { isTableGone, onLiveTable, onLiveTableSync } from "./on-live-table.ts";

/** A table swapped after every find: the first use fails as gone, the second succeeds or not. */
function swapping(names: string[], usable: ReadonlySet<string>) {
  const steps: string[] = [];
  const find = () => {
    const name = names.shift() ?? "none";
    steps.push(`find ${name}`);
    return name;
  };
  const use = (name: string) => {
    steps.push(`use ${name}`);
    return usable.has(name) ? `read ${name}` : "gone";
  };
  return { steps, find, use };
}

describe("onLiveTable", () => {
  test("used once when the table stays", async () => {
    const s = swapping(["podnet", "podnet-b"], new Set(["podnet"]));
    expect(
      await onLiveTable(
        async () => s.find(),
        async (n) => s.use(n),
        (r) => r === "gone",
      ),
    ).toBe("read podnet");
    expect(s.steps).toEqual(["find podnet", "use podnet"]);
  });

  test("found again and used once more after a swap deleted it; gone again is the caller's", async () => {
    const s = swapping(["podnet", "podnet-b"], new Set(["podnet-b"]));
    expect(
      await onLiveTable(
        async () => s.find(),
        async (n) => s.use(n),
        (r) => r === "gone",
      ),
    ).toBe("read podnet-b");
    expect(s.steps).toEqual(["find podnet", "use podnet", "find podnet-b", "use podnet-b"]);
    const twice = swapping(["podnet", "podnet-b", "podnet"], new Set());
    expect(
      await onLiveTable(
        async () => twice.find(),
        async (n) => twice.use(n),
        (r) => r === "gone",
      ),
    ).toBe("gone");
    expect(twice.steps).toHaveLength(4);
  });

  test("the sync form does the same", () => {
    const s = swapping(["podnet", "podnet-b"], new Set(["podnet-b"]));
    expect(onLiveTableSync(s.find, s.use, (r) => r === "gone")).toBe("read podnet-b");
    expect(s.steps).toEqual(["find podnet", "use podnet", "find podnet-b", "use podnet-b"]);
    const once = swapping(["podnet", "podnet-b"], new Set(["podnet"]));
    expect(onLiveTableSync(once.find, once.use, (r) => r === "gone")).toBe("read podnet");
    expect(once.steps).toHaveLength(2);
  });
});

describe("isTableGone", () => {
  test("nft's ENOENT, not another failure", () => {
    expect(isTableGone("Error: No such file or directory\nlist map ip podnet service-ips\n")).toBe(true);
    expect(isTableGone("Error: Could not process rule: Operation not permitted")).toBe(false);
  });
});

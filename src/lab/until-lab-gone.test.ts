import { expect, test } from "bun:test";
import { untilLabGone } from "./until-lab-gone.ts";

test("resolves once the lab is down (no state) and not before", async () => {
  const ids: (string | undefined | null)[] = ["abc", null, "abc", undefined];
  let calls = 0;
  const watch = untilLabGone("abc", 5, () => {
    calls++;
    return ids.shift();
  });
  await watch.gone;
  expect(calls).toBe(4);
});

test("resolves when another lab replaced it", async () => {
  const watch = untilLabGone("abc", 5, () => "def");
  await watch.gone;
});

test("stop ends the checks", async () => {
  let calls = 0;
  const watch = untilLabGone("abc", 5, () => {
    calls++;
    return "abc";
  });
  await Bun.sleep(30);
  watch.stop();
  const seen = calls;
  await Bun.sleep(30);
  expect(calls).toBe(seen);
});

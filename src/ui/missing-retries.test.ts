import { expect, test } from "bun:test";
import { MissingRetries } from "./missing-retries.ts";

test("a silent node is retried after 3 s, then later each time up to the cap; an answer ends it", () => {
  const r = new MissingRetries(3000, 10_000);
  r.gathered(["node2"], undefined, 0);
  expect(r.due(2999)).toEqual([]);
  expect(r.due(3000)).toEqual(["node2"]);
  r.gathered(["node2"], new Set(["node2"]), 3000);
  expect(r.due(8999)).toEqual([]);
  expect(r.due(9000)).toEqual(["node2"]);
  r.gathered(["node2"], new Set(["node2"]), 9000);
  r.gathered(["node2"], new Set(["node2"]), 9000);
  expect(r.due(18_999)).toEqual([]);
  expect(r.due(19_000)).toEqual(["node2"]);
  // A full gather keeps the delay; a node not asked keeps its retry.
  r.gathered(["node2", "node3"], undefined, 20_000);
  expect(r.due(23_000)).toEqual(["node3"]);
  r.gathered([], new Set(["node3"]), 23_000);
  expect(r.due(30_000)).toEqual(["node2"]);
  r.gathered([], new Set(["node2"]), 30_000);
  expect(r.due(1e9)).toEqual([]);
});

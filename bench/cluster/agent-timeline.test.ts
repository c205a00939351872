import { describe, expect, test } from "bun:test";
import type { LogEntry } from "../../testkit/agent-log.ts";
import { problems, startTimeline } from "./agent-timeline.ts";

const origin = Date.parse("2026-11-21T10:00:00.000Z");
const at = (ms: number, level: string, msg: string): LogEntry => ({
  atMs: origin + ms,
  level,
  msg,
  fields: {},
});
const entries = [
  at(100, "info", "cluster config"),
  at(250, "info", "blocks leased"),
  at(300, "info", "CNI config written"),
  at(420, "warn", "peer block not routed"),
  at(450, "info", "node network programmed: ready"),
];

describe("agent start timeline", () => {
  test("the start timeline is measured from the spawn", () => {
    const t = startTimeline(entries, origin);
    expect(t).toEqual({ firstLogMs: 100, blocksLeasedMs: 250, conflistWrittenMs: 300, readyMs: 450 });
    expect(startTimeline([], origin).readyMs).toBeNull();
  });

  test("warnings and errors since a point in time", () => {
    expect(problems(entries, origin).map((e) => e.msg)).toEqual(["peer block not routed"]);
    expect(problems(entries, origin + 500)).toEqual([]);
  });
});

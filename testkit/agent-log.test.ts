import { describe, expect, test } from "bun:test";
import { parseAgentLog } from "./agent-log.ts";

const log = [
  '{"time":"2026-11-21T10:00:00.100Z","level":"info","msg":"cluster config","component":"agent","node":"node50"}',
  '{"time":"2026-11-21T10:00:00.250Z","level":"info","msg":"blocks leased","blocks":["10.244.9.0/24"]}',
  "panic: not json",
  '{"time":"2026-11-21T10:00:00.300Z","level":"info","msg":"CNI config written","changed":true}',
  '{"time":"2026-11-21T10:00:00.420Z","level":"warn","msg":"peer block not routed","peer":"x"}',
  '{"time":"2026-11-21T10:00:00.450Z","level":"info","msg":"node network programmed: ready"}',
  "",
].join("\n");

describe("agent log", () => {
  test("JSON lines become entries with their time; other lines are skipped", () => {
    const entries = parseAgentLog(log);
    expect(entries.map((e) => e.msg)).toEqual([
      "cluster config",
      "blocks leased",
      "CNI config written",
      "peer block not routed",
      "node network programmed: ready",
    ]);
    expect(entries[1]?.fields.blocks).toEqual(["10.244.9.0/24"]);
    expect(entries[0]?.fields.node).toBe("node50");
  });
});

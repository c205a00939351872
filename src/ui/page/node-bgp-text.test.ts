import { describe, expect, test } from "bun:test";
import { nodeBgpText } from "./node-bgp-text.ts";

describe("nodeBgpText", () => {
  test("every session up", () => {
    expect(nodeBgpText({ enabled: true, running: true, sessions: 2, established: 2 })).toMatchObject({
      text: "BGP 2/2 up",
      down: false,
    });
  });

  test("a session down, no session, BIRD stopped, no peer: each a warning", () => {
    expect(nodeBgpText({ enabled: true, running: true, sessions: 2, established: 1 })).toMatchObject({
      text: "BGP 1/2 up",
      down: true,
    });
    expect(nodeBgpText({ enabled: true, running: true, sessions: 0, established: 0 }).down).toBe(true);
    expect(nodeBgpText({ enabled: true, running: false, sessions: 1, established: 0 })).toMatchObject({
      text: "BIRD not running",
      down: true,
    });
    expect(nodeBgpText({ enabled: false, running: false, sessions: 0, established: 0 })).toMatchObject({
      text: "no BGP peer",
      down: true,
    });
  });
});

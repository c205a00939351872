import { describe, expect, test } from "bun:test";
import { PROTOCOL_VERSION } from "../plugin/agent-protocol.ts";
import { declineReason } from "./cni-service.ts";

const request = (pid: number, env: Record<string, string> = {}) => ({
  v: PROTOCOL_VERSION,
  kind: "podnet" as const,
  pid,
  env: { CNI_COMMAND: "ADD", ...env },
  stdin: "{}",
});

describe("declineReason", () => {
  test("a process that is not there, or not a podnet plugin, is not served", () => {
    // PIDs above pid_max (4194304 at most) never exist.
    expect(declineReason(request(4_194_305))).toContain("cannot see the plugin's process");
    // This test runs under bun: a process of ours that is no plugin.
    expect(declineReason(request(process.pid))).toContain("not a podnet plugin");
  });
});

import { describe, expect, test } from "bun:test";
import { attachmentArgs } from "./cni-runtime.ts";

describe("attachmentArgs (what a runtime inserts under a plugin's args)", () => {
  const check = { tcpSocket: { port: 8080 }, periodSeconds: 1 };

  test("labels go to args.cni.labels and the check to args.podnet.readiness, the file's args kept", () => {
    const fileArgs = { cni: { ips: ["10.0.0.5"] }, podnet: { other: 1 }, mine: true };
    expect(attachmentArgs(fileArgs, { labels: { app: "echo" }, readiness: check })).toEqual({
      cni: { ips: ["10.0.0.5"], labels: [{ key: "app", value: "echo" }] },
      podnet: { other: 1, readiness: check },
      mine: true,
    });
  });

  test("nothing to insert leaves the file's args as they are (absent stays absent)", () => {
    expect(attachmentArgs(undefined, {})).toBeUndefined();
    expect(attachmentArgs({ x: 1 }, {})).toEqual({ x: 1 });
  });

  test("a check alone is inserted without labels", () => {
    expect(attachmentArgs(undefined, { readiness: check })).toEqual({ podnet: { readiness: check } });
  });
});

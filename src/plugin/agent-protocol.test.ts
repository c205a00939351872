import { describe, expect, test } from "bun:test";
import { agentSocketFor, encodeLine, PROTOCOL_VERSION, parseReply, parseRequest } from "./agent-protocol.ts";

describe("agentSocketFor", () => {
  test("podnet-ipam's data directory holds the agent's socket", () => {
    const conf = { type: "podnet", ipam: { type: "podnet-ipam", dataDir: "/run/podnet/" } };
    expect(agentSocketFor(JSON.stringify(conf))).toBe("/run/podnet/cni.sock");
    expect(agentSocketFor(JSON.stringify({ ipam: { type: "podnet-ipam" } }))).toBe("/run/podnet/cni.sock");
  });

  test("no agent for other IPAM, relative directories or undecodable configs", () => {
    expect(agentSocketFor(JSON.stringify({ ipam: { type: "host-local", dataDir: "/x" } }))).toBeUndefined();
    expect(agentSocketFor(JSON.stringify({ ipam: { type: "podnet-ipam", dataDir: "x" } }))).toBeUndefined();
    expect(agentSocketFor(JSON.stringify({ type: "podnet" }))).toBeUndefined();
    expect(agentSocketFor("not json")).toBeUndefined();
    expect(agentSocketFor("null")).toBeUndefined();
  });
});

describe("requests and replies", () => {
  const request = {
    v: PROTOCOL_VERSION,
    kind: "podnet" as const,
    pid: 42,
    env: { CNI_COMMAND: "ADD" },
    stdin: '{"cniVersion":"1.0.0"}\n',
  };

  test("a request survives the line encoding", () => {
    const line = encodeLine(request);
    expect(line.endsWith("\n")).toBe(true);
    expect(line.slice(0, -1)).not.toContain("\n");
    expect(parseRequest(line.slice(0, -1))).toEqual(request);
  });

  test("a bad request says why", () => {
    expect(parseRequest("{")).toBe("the request is not JSON");
    expect(parseRequest(JSON.stringify({ ...request, v: 2 }))).toContain("protocol version 2");
    expect(parseRequest(JSON.stringify({ ...request, kind: "bridge" }))).toContain('"bridge"');
    expect(parseRequest(JSON.stringify({ ...request, pid: 0 }))).toContain("pid");
    expect(parseRequest(JSON.stringify({ ...request, env: { A: 1 } }))).toContain("environment");
  });

  test("the three replies, and nothing else", () => {
    const v = PROTOCOL_VERSION;
    expect(parseReply(JSON.stringify({ v, accepted: true }))).toEqual({ v, accepted: true });
    expect(parseReply(JSON.stringify({ v, declined: "why" }))).toEqual({ v, declined: "why" });
    expect(parseReply(JSON.stringify({ v, exitCode: 1, stdout: "{}" }))).toEqual({
      v,
      exitCode: 1,
      stdout: "{}",
    });
    expect(parseReply(JSON.stringify({ v: 9, accepted: true }))).toBeUndefined();
    expect(parseReply(JSON.stringify({ v, exitCode: 1.5, stdout: "" }))).toBeUndefined();
    expect(parseReply("nope")).toBeUndefined();
  });
});
